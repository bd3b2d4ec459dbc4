package io.cohortsync.testkit;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

/** The one switch, EMULATOR: moto unless it says localstack; anything else, or LocalStack without Docker, is one line. */
class EmulatorTest {

    @Test
    void moto_isTheDefault() {
        assertThat(Emulator.chosen(Map.of())).isEqualTo(Emulator.MOTO);
        assertThat(Emulator.chosen(Map.of("EMULATOR", ""))).isEqualTo(Emulator.MOTO);
        assertThat(Emulator.chosen(Map.of("EMULATOR", "moto"))).isEqualTo(Emulator.MOTO);
    }

    @Test
    void localstack_isChosenByName() {
        assertThat(Emulator.chosen(Map.of("EMULATOR", "localstack"))).isEqualTo(Emulator.LOCALSTACK);
    }

    @Test
    void anyOtherValue_isRejected_inOneLine() {
        for (String value : List.of("docker", "LocalStack", " moto", "moto_server")) {
            assertThatThrownBy(() -> Emulator.chosen(Map.of("EMULATOR", value)))
                    .isInstanceOf(Emulator.Unavailable.class)
                    .hasMessage("EMULATOR=" + value + " is not an emulator cohort-sync runs: use EMULATOR=moto (the default)"
                            + " or EMULATOR=localstack")
                    .satisfies(e -> assertThat(e.getStackTrace()).isEmpty());
        }
    }

    @Test
    void localstackWithoutDocker_failsWithOneLine_andStartsNothing() {
        assertThatThrownBy(() -> Emulator.LOCALSTACK.start(Map.of("EMULATOR", "localstack"), Path.of("target"),
                () -> Optional.of("DOCKER_HOST unset, no /var/run/docker.sock")))
                .isInstanceOf(Emulator.Unavailable.class)
                .hasMessage("EMULATOR=localstack needs a Docker engine; none found (DOCKER_HOST unset, no "
                        + "/var/run/docker.sock). Start one, or run with moto: unset EMULATOR.")
                .satisfies(e -> assertThat(e.getStackTrace()).isEmpty())
                .satisfies(e -> assertThat(e.toString()).doesNotContain("\n").doesNotContain("Exception"));
    }

    @Test
    void testcontainersCheck_onThisMachine_findsNoDocker() {
        // The development machine and CI have no Docker engine; where one answers, this test has nothing to say.
        assumeThat(System.getenv("DOCKER_HOST")).isNull();
        assumeThat(Files.exists(Path.of("/var/run/docker.sock"))).isFalse();

        assertThat(Emulator.dockerMissing()).contains("DOCKER_HOST unset, no /var/run/docker.sock");
    }

    @Test
    void preflight_printsExactlyOneLine_andFails() throws Exception {
        assumeThat(System.getenv("DOCKER_HOST")).isNull();
        assumeThat(Files.exists(Path.of("/var/run/docker.sock"))).isFalse();

        Run localstack = preflight("localstack");
        assertThat(localstack.exit).isEqualTo(1);
        assertThat(localstack.stdout).isEmpty();
        assertThat(localstack.stderr).singleElement().asString()
                .startsWith("EMULATOR=localstack needs a Docker engine; none found (");

        Run unknown = preflight("podman");
        assertThat(unknown.exit).isEqualTo(1);
        assertThat(unknown.stderr).containsExactly("EMULATOR=podman is not an emulator cohort-sync runs: use "
                + "EMULATOR=moto (the default) or EMULATOR=localstack");

        Run moto = preflight("moto");
        assertThat(moto.exit).isZero();
        assertThat(moto.stderr).isEmpty();
    }

    private record Run(int exit, List<String> stdout, List<String> stderr) {
    }

    /** {@code Emulator}'s main in a JVM of its own, as {@code make test} runs it before Maven's suites. */
    private static Run preflight(String emulator) throws Exception {
        // As the Makefile runs it: Testcontainers' Docker check loads JNA, which newer JDKs warn about otherwise.
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                Emulator.class.getName()));
        ProcessBuilder pb = new ProcessBuilder(command);
        Map<String, String> env = new HashMap<>(pb.environment());
        pb.environment().clear();
        env.remove("JAVA_TOOL_OPTIONS"); // the JVM would announce it on stderr
        env.put("EMULATOR", emulator);
        pb.environment().putAll(env);
        Path out = Files.createTempFile("emulator-out", ".txt");
        Path err = Files.createTempFile("emulator-err", ".txt");
        try {
            Process p = pb.redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            return new Run(p.exitValue(), lines(out), lines(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static List<String> lines(Path file) throws Exception {
        return Files.readAllLines(file, StandardCharsets.UTF_8).stream().filter(l -> !l.isBlank()).toList();
    }
}
