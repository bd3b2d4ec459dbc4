package io.cohortsync;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/** House rule: domain code (records, diffing, parsing, sync, Segment messages) imports no AWS SDK. */
class ArchitectureTest {
    private static final List<String> DOMAIN_PACKAGES = List.of("domain", "mixpanel", "sync", "send", "reconcile", "segment", "observability");

    @Test
    void domainPackages_importNoAwsSdk_always() throws IOException {
        Path root = Path.of("src/main/java/io/cohortsync");
        for (String pkg : DOMAIN_PACKAGES) {
            Path dir = root.resolve(pkg);
            if (!Files.isDirectory(dir)) {
                continue;
            }
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path file : files.filter(f -> f.toString().endsWith(".java")).toList()) {
                    assertThat(Files.readString(file))
                            .as(file + " must not depend on AWS")
                            .doesNotContain("import software.amazon.")
                            .doesNotContain("import com.amazonaws.");
                }
            }
        }
        assertThat(root.resolve("domain")).isDirectory();
    }
}
