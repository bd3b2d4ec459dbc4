package io.cohortsync;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * House rule: domain code (records, diffing, parsing, sync, Segment messages) depends neither on the AWS
 * SDK nor on our own AWS adapters ({@code io.cohortsync.aws}); the adapters implement its ports. A
 * package named here that is missing fails (a rename must not turn the check off), and so does a new
 * package nobody has placed on either side.
 */
class ArchitectureTest {
    private static final Path ROOT = Path.of("src/main/java/io/cohortsync");
    private static final List<String> DOMAIN_PACKAGES =
            List.of("domain", "mixpanel", "sync", "send", "reconcile", "segment", "observability");
    /** Allowed to use AWS: the adapters, the Lambda event codec, and the SnapStart hooks that prime them. */
    private static final List<String> AWS_SIDE_PACKAGES = List.of("aws", "lambda", "snapstart");
    /** A qualified use in code, whether imported (static or not) or written inline. */
    private static final Pattern AWS_REFERENCE =
            Pattern.compile("\\b(software\\.amazon\\.|com\\.amazonaws\\.|io\\.cohortsync\\.aws\\.)");
    private static final Pattern COMMENT = Pattern.compile("/\\*.*?\\*/|//[^\\n]*", Pattern.DOTALL);

    static List<String> domainPackages() {
        return DOMAIN_PACKAGES;
    }

    @ParameterizedTest(name = "io.cohortsync.{0}")
    @MethodSource("domainPackages")
    void domainPackage_referencesNeitherAwsSdkNorAwsAdapters_always(String pkg) {
        // given the package's sources (it must exist and hold code: a missing package is a broken check)
        Path dir = ROOT.resolve(pkg);
        assertThat(dir).as("domain package io.cohortsync." + pkg).isDirectory();
        List<Path> sources = javaFiles(dir);
        assertThat(sources).as("sources of io.cohortsync." + pkg).isNotEmpty();

        // then none of them names AWS outside a comment
        for (Path file : sources) {
            String code = COMMENT.matcher(read(file)).replaceAll("");
            assertThat(AWS_REFERENCE.matcher(code).results().map(m -> m.group(1)).toList())
                    .as(file + " must not depend on the AWS SDK or io.cohortsync.aws")
                    .isEmpty();
        }
    }

    @Test
    void everySharedPackage_isPlacedOnOneSide_always() throws IOException {
        // given the packages shared actually has
        List<String> present;
        try (Stream<Path> dirs = Files.list(ROOT)) {
            present = dirs.filter(Files::isDirectory).map(d -> d.getFileName().toString()).sorted().toList();
        }

        // then each is either domain (checked above) or AWS-side, and both lists name only real packages
        assertThat(present).containsExactlyInAnyOrderElementsOf(
                Stream.concat(DOMAIN_PACKAGES.stream(), AWS_SIDE_PACKAGES.stream()).toList());
    }

    @Test
    void awsReference_isFound_whenImportedStaticallyOrWrittenInline() {
        // the check above is only as good as this pattern: it must see every way of naming AWS
        assertThat(AWS_REFERENCE.matcher("import static software.amazon.awssdk.core.SdkBytes.fromUtf8String;").find())
                .isTrue();
        assertThat(AWS_REFERENCE.matcher("var c = com.amazonaws.services.lambda.runtime.Context.class;").find()).isTrue();
        assertThat(AWS_REFERENCE.matcher("import io.cohortsync.aws.Keys;").find()).isTrue();
        assertThat(AWS_REFERENCE.matcher("import io.cohortsync.awsome.Thing;").find()).isFalse();
        assertThat(COMMENT.matcher("/** see {@link io.cohortsync.aws.Keys} */ class A {} // io.cohortsync.aws.X")
                .replaceAll("")).isEqualTo(" class A {} ");
    }

    private static List<Path> javaFiles(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(f -> f.toString().endsWith(".java")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String read(Path file) {
        try {
            return Files.readString(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
