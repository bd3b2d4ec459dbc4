package io.cohortsync.segment;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** House style: the domain side (records, Segment message building and policy) imports no AWS SDK. */
class SegmentPackageIsolationTest {

    @Test
    void sources_importNoAwsSdk_whenInSegmentOrDomainPackages() throws IOException {
        // given the shared module's domain-side packages
        Path shared = locate("shared/src/main/java/io/cohortsync");
        List<Path> sources;
        try (Stream<Path> files = Stream.of("segment", "domain").flatMap(p -> walk(shared.resolve(p)))) {
            sources = files.filter(f -> f.toString().endsWith(".java")).toList();
        }

        // when / then
        assertThat(sources).isNotEmpty().allSatisfy(f -> assertThat(Files.readString(f))
                .as(f.toString()).doesNotContain("software.amazon.").doesNotContain("com.amazonaws."));
    }

    private static Stream<Path> walk(Path dir) {
        try {
            return Files.walk(dir).toList().stream();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path locate(String relative) {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isDirectory(dir.resolve(relative))) {
                return dir.resolve(relative);
            }
        }
        throw new IllegalStateException("no " + relative + " above " + Path.of("").toAbsolutePath());
    }
}
