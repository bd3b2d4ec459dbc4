package io.cohortsync.bench;

import org.junit.jupiter.api.Test;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

class TemplateTest {

    @Test
    void load_readsMemoryJvmOptionsAndCommitConcurrency_fromTemplateYaml() {
        Template t = Template.load(repositoryRoot());

        assertThat(t.memoryMb()).isPositive();
        assertThat(t.javaToolOptions()).isNotEmpty().allMatch(o -> o.startsWith("-"));
        assertThat(t.commitConcurrency()).isPositive();
    }

    private static Path repositoryRoot() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("template.yaml"))) {
                return dir;
            }
        }
        throw new IllegalStateException("repository root not found");
    }
}
