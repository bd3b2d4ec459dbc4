package io.cohortsync.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code bin/cohort-sync} as an operator first runs it: in a copy of the repository's files with nothing
 * built (as a fresh clone), in a process of its own. It builds the CLI once (offline Maven, nothing
 * installed to ~/.m2), then runs it; the second run reuses the build. The copy keeps this module's own
 * target/ (which failsafe runs from) out of the nested build's way.
 */
class LauncherIT {
    @TempDir
    Path clone;

    @Test
    void launcher_buildsOnFirstUse_thenRunsTheCli_andReusesTheBuild() throws Exception {
        // given the repository's files without any build output
        copyRepository(repositoryRoot(), clone);

        // when
        Run first = launch("--help");
        Run second = launch("rejected");

        // then the first run built the CLI and printed its help; the second built nothing
        assertThat(first.code).as(first.err).isZero();
        assertThat(first.err).contains("cohort-sync: building the CLI");
        assertThat(first.out).startsWith("usage: cohort-sync <command>").contains("status", "--output json");
        assertThat(second.err).doesNotContain("building")
                .isEqualTo("cohort-sync: rejected needs --stack NAME, --local, or --dlq-url (see cohort-sync rejected --help)\n");
        assertThat(second.code).isEqualTo(2);
        assertThat(second.out).isEmpty();
    }

    private record Run(int code, String out, String err) {
    }

    private Run launch(String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of(clone.resolve("bin/cohort-sync").toString()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).directory(clone.toFile());
        // Offline: everything the build needs is in the local repository already (this build resolved it).
        pb.environment().put("MVN", "mvn -B -ntp -o");
        Path out = Files.createTempFile(clone, "out", ".txt");
        Path err = Files.createTempFile(clone, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        try {
            assertThat(p.waitFor(5, TimeUnit.MINUTES)).as("bin/cohort-sync finishes").isTrue();
            return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
    }

    /** The files git would check out (tracked, plus new ones not ignored), working-tree versions. */
    private static void copyRepository(Path root, Path to) throws Exception {
        Process ls = new ProcessBuilder("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
                .directory(root.toFile()).redirectErrorStream(false).start();
        byte[] listing = ls.getInputStream().readAllBytes();
        assertThat(ls.waitFor(60, TimeUnit.SECONDS) && ls.exitValue() == 0).as("git ls-files").isTrue();
        for (String name : new String(listing, StandardCharsets.UTF_8).split("\0")) {
            Path source = root.resolve(name);
            if (name.isEmpty() || !Files.isRegularFile(source)) {
                continue; // deleted in the working tree
            }
            Path target = to.resolve(name);
            Files.createDirectories(target.getParent());
            Files.copy(source, target, StandardCopyOption.COPY_ATTRIBUTES);
        }
    }

    private static Path repositoryRoot() throws IOException {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Makefile")) && Files.isRegularFile(p.resolve("bin/cohort-sync"))) {
                return p;
            }
        }
        throw new IOException("no repository root above " + Path.of("").toAbsolutePath());
    }
}
