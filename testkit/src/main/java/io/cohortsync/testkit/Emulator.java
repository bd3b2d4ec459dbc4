package io.cohortsync.testkit;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * The AWS emulator the integration suites and {@code make local} run against, chosen by one switch, the
 * {@code EMULATOR} environment variable: {@code moto} (the default: a {@code moto_server} process) or
 * {@code localstack} (LocalStack in Docker, through Testcontainers' {@code LocalStackContainer}). Either way the
 * SDK is pointed at it only through the standard {@code aws.endpointUrl} property, by the caller. An
 * {@code AWS_ENDPOINT_URL} already set names an emulator someone else runs, which is used as it is.
 * <p>Where the chosen emulator cannot run (LocalStack without a Docker engine) starting it fails with an
 * {@link Unavailable} whose message is the one line to print: no stack trace, and never a silent fallback.
 */
public enum Emulator {
    MOTO("moto"),
    LOCALSTACK("localstack");

    public static final String VARIABLE = "EMULATOR";
    /** The LocalStack image: pinned so runs are repeatable; {@code LOCALSTACK_IMAGE} names another. */
    public static final String LOCALSTACK_IMAGE = "localstack/localstack:4.4.0";

    private final String label;

    Emulator(String label) {
        this.label = label;
    }

    public String label() {
        return label;
    }

    /** An emulator that runs until closed. */
    public interface Running extends AutoCloseable {
        URI endpoint();

        /** For the ready line, e.g. "moto_server started for this run". */
        String description();

        @Override
        void close();
    }

    /** The chosen emulator cannot run here, or the choice is not one; the message is one line, printed as it is. */
    public static final class Unavailable extends RuntimeException {
        public Unavailable(String line) {
            super(line, null, false, false); // no stack trace: the line says everything
        }

        @Override
        public String toString() {
            return getMessage();
        }
    }

    /**
     * The choice {@code env} makes: unset or blank is moto.
     *
     * @throws Unavailable for any other value than moto or localstack (exactly: Maven's localstack profile is
     *                     turned on by the same value)
     */
    public static Emulator chosen(Map<String, String> env) {
        String value = env.get(VARIABLE);
        if (value == null || value.isBlank()) {
            return MOTO;
        }
        for (Emulator e : values()) {
            if (e.label.equals(value)) {
                return e;
            }
        }
        throw new Unavailable(VARIABLE + "=" + value + " is not an emulator cohort-sync runs: use " + VARIABLE
                + "=moto (the default) or " + VARIABLE + "=localstack");
    }

    /** Starts the emulator {@code env} chooses, logs of moto under {@code logDir}. */
    public static Running start(Map<String, String> env, Path logDir) {
        return chosen(env).start(env, logDir, Emulator::dockerMissing);
    }

    /**
     * @param dockerMissing empty when a Docker engine answers, else why not (the tests give their own; the real one
     *                      asks Testcontainers)
     */
    Running start(Map<String, String> env, Path logDir, Supplier<Optional<String>> dockerMissing) {
        return switch (this) {
            case MOTO -> {
                MotoServer moto = MotoServer.start(logDir);
                yield new Running() {
                    @Override
                    public URI endpoint() {
                        return moto.endpoint();
                    }

                    @Override
                    public String description() {
                        return "moto_server started for this run";
                    }

                    @Override
                    public void close() {
                        moto.close();
                    }
                };
            }
            case LOCALSTACK -> {
                Optional<String> missing = dockerMissing.get();
                if (missing.isPresent()) {
                    throw new Unavailable(dockerMissingLine(missing.get()));
                }
                yield LocalStack.start(env.getOrDefault("LOCALSTACK_IMAGE", LOCALSTACK_IMAGE));
            }
        };
    }

    /**
     * {@code make test}'s and {@code make e2e-scale}'s check before Maven runs any suite: prints the one line and
     * exits 1 when the emulator {@code EMULATOR} chooses cannot run here (or is no emulator), else exits 0 silently.
     */
    public static void main(String[] args) {
        Map<String, String> env = System.getenv();
        try {
            if (chosen(env) == LOCALSTACK) {
                Optional<String> missing = dockerMissing();
                if (missing.isPresent()) {
                    throw new Unavailable(dockerMissingLine(missing.get()));
                }
            }
        } catch (Unavailable e) {
            System.err.println(e.getMessage());
            System.exit(1);
        }
    }

    /** The one line printed when LocalStack is chosen and no Docker engine answers. */
    static String dockerMissingLine(String reason) {
        return VARIABLE + "=localstack needs a Docker engine; none found (" + reason + "). Start one, or run with moto: "
                + "unset " + VARIABLE + ".";
    }

    /**
     * Testcontainers' own check ({@code DockerClientFactory.instance().isDockerAvailable()}), with what this
     * machine offers named when it fails. The check throws more than the IllegalStateException it maps to false
     * (e.g. when its reaper container cannot start): anything it throws means Docker is not usable either.
     */
    static Optional<String> dockerMissing() {
        String host = System.getenv("DOCKER_HOST");
        String where = host != null && !host.isBlank() ? "DOCKER_HOST=" + host
                : Files.exists(Path.of("/var/run/docker.sock")) ? "/var/run/docker.sock does not answer"
                : "DOCKER_HOST unset, no /var/run/docker.sock";
        try {
            Class.forName("org.testcontainers.DockerClientFactory");
        } catch (ClassNotFoundException e) {
            return Optional.of("Testcontainers is not on the classpath: Maven's localstack profile, which "
                    + VARIABLE + "=localstack turns on, adds it");
        }
        try {
            return LocalStack.dockerAvailable() ? Optional.empty() : Optional.of(where);
        } catch (Throwable t) {
            return Optional.of(where + "; Testcontainers: " + t.getClass().getSimpleName());
        }
    }
}
