package io.cohortsync.local;

import io.cohortsync.testkit.Emulator;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;

/**
 * {@code make local}: the whole pipeline in the foreground until Ctrl-C.
 * <ul>
 *   <li>{@code AWS_ENDPOINT_URL}: an AWS emulator to use; unset, the one {@code EMULATOR} chooses is started (and
 *       stopped on exit): {@code moto_server} by default, LocalStack in Docker with {@code EMULATOR=localstack}</li>
 *   <li>{@code PORT} (3000): where the webhook listens, {@code http://127.0.0.1:$PORT/mixpanel}</li>
 *   <li>{@code SEGMENT_ENDPOINT}: Segment base URL ({@code /v1/batch} is appended); unset, a local sink
 *       prints identifies and appends them to {@code target/local-identifies.jsonl}</li>
 *   <li>{@code WEBHOOK_USERNAME} / {@code WEBHOOK_PASSWORD} (mixpanel / local-secret), {@code SEGMENT_WRITE_KEY}
 *       (local-write-key): stored in the emulator's Secrets Manager, read by the real code, never printed (the
 *       ready line's curl names the variables when they are set)</li>
 *   <li>{@code LAMBDA_RUNTIME}: unset or {@code in-process}, the handlers run in this JVM; {@code ric}, each
 *       function's sam-build package runs under the real Lambda runtime client ({@link RuntimeClientPackages})</li>
 *   <li>function settings passed through when set: {@code USER_ID_PROPERTY}, {@code MISSING_USER_ID},
 *       {@code SEGMENT_CALLS}, {@code EXTRA_TRAITS},
 *       {@code RENAME_TRAITS}, {@code HISTORY_TTL_DAYS}, {@code DRY_RUN}, {@code TRAIT_PREFIX},
 *       {@code DELTA_DELAY_SECONDS}, {@code EXITED_TTL_DAYS}, {@code MASS_EXIT_*} and {@code RECONCILE_*}
 *       (the reconciler's passes and chunks; not the queue URLs, which this run creates)</li>
 *   <li>{@code LOG_FORMAT}: unset or {@code text}, one short line per webhook request, sender batch and reconcile
 *       job ({@link ConsoleFormat}, made from the functions' own log lines); {@code json}, their JSON log lines
 *       and EMF metrics exactly as Lambda logs them</li>
 * </ul>
 */
public final class LocalMain {
    private LocalMain() {
    }

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        Map<String, String> env = System.getenv();
        boolean runtimeClient = runtimeClient(env.get("LAMBDA_RUNTIME"));
        // Before the handlers are built: they keep the stdout they find (JsonLog, Metrics), as in Lambda.
        System.setOut(ConsoleStream.console(System.out, ConsoleFormat.LogFormat.of(env.get("LOG_FORMAT"))));
        Emulator.Running emulator = null;
        String endpoint = env.get("AWS_ENDPOINT_URL");
        if (endpoint == null || endpoint.isBlank()) {
            try {
                emulator = Emulator.start(env, Path.of("target"));
            } catch (Emulator.Unavailable e) {
                System.err.println(e.getMessage());
                System.exit(1);
                return;
            }
            endpoint = emulator.endpoint().toString();
            System.setProperty("aws.endpointUrl", endpoint);
        }
        String user = env.getOrDefault("WEBHOOK_USERNAME", DEFAULT_USERNAME);
        String password = env.getOrDefault("WEBHOOK_PASSWORD", DEFAULT_PASSWORD);
        Map<String, String> settings = functionSettings(env);
        LocalPipeline pipeline;
        try {
            LocalPipeline.Options options = new LocalPipeline.Options("127.0.0.1",
                    Integer.parseInt(env.getOrDefault("PORT", "3000")), blankToNull(env.get("SEGMENT_ENDPOINT")),
                    user, password, env.getOrDefault("SEGMENT_WRITE_KEY", "local-write-key"), "cohort-sync-local",
                    Path.of("target", "local-identifies.jsonl"), Duration.ofSeconds(2), System.out,
                    settings);
            if (runtimeClient) {
                options = options.withRuntimeClient(RuntimeClientPackages.prepare(repositoryRoot(), System.out));
            }
            pipeline = LocalPipeline.start(options);
        } catch (Exception e) {
            if (emulator != null) {
                emulator.close();
            }
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Emulator.Running ownEmulator = emulator;
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            pipeline.close();
            if (ownEmulator != null) {
                ownEmulator.close();
            }
            stopped.countDown();
        }, "local-stop"));
        System.out.println("AWS emulator: " + endpoint + (ownEmulator != null ? " (" + ownEmulator.description() + ")" : ""));
        System.out.println("Segment: " + (pipeline.identifiesFile() != null
                ? "local sink, identifies printed here and appended to " + pipeline.identifiesFile()
                : pipeline.environment().get("SEGMENT_ENDPOINT") + "/v1/batch"));
        if (!settings.isEmpty()) {
            System.out.println("function settings: " + settings);
        }
        System.out.println("Reconciler: on queue " + pipeline.environment().get("RECONCILE_QUEUE_URL")
                + " (full-sync exit passes and renames run there, after the last page is answered)");
        System.out.println(runtimeClient
                ? "Functions: sam-build packages under the Lambda runtime client (template handlers and environment,"
                        + " SnapStart restore flow, container credentials); their logs: target/local-runtime/"
                : "Functions: handlers in this JVM (LAMBDA_RUNTIME=ric runs the deployment packages under the Lambda"
                        + " runtime client instead); "
                        + (ConsoleFormat.LogFormat.of(env.get("LOG_FORMAT")) == ConsoleFormat.LogFormat.JSON
                        ? "their log lines and EMF metrics as Lambda logs them (LOG_FORMAT=json)"
                        : "one line per request, batch and job (LOG_FORMAT=json: the JSON lines Lambda logs)"));
        if (credentialsSupplied(env)) {
            System.out.println("Credentials: yours, not printed; the command below reads WEBHOOK_USERNAME and"
                    + " WEBHOOK_PASSWORD from the shell you paste it into (export them there too)");
        }
        System.out.printf(Locale.ROOT, "cohort-sync ready: http://127.0.0.1:%d/mixpanel (started in %.1f s)%n",
                pipeline.port(), (System.nanoTime() - started) / 1e9);
        System.out.println(pipeline.curlCommand(curlCredentials(env)));
        stopped.await();
    }

    /** {@code LAMBDA_RUNTIME}: true for {@code ric}, false when unset or {@code in-process}. */
    static boolean runtimeClient(String value) {
        if (value == null || value.isBlank() || value.equals("in-process")) {
            return false;
        }
        if (value.equals("ric")) {
            return true;
        }
        throw new IllegalArgumentException("LAMBDA_RUNTIME must be in-process (the default) or ric, was '" + value + "'");
    }

    /** `make local` runs at the repository root; the packages are built from there. */
    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("template.yaml")) && Files.isRegularFile(p.resolve("Makefile"))) {
                return p;
            }
        }
        throw new IllegalStateException("LAMBDA_RUNTIME=ric needs the repository (template.yaml, Makefile) at or above "
                + Path.of("").toAbsolutePath());
    }

    static final String DEFAULT_USERNAME = "mixpanel";
    static final String DEFAULT_PASSWORD = "local-secret";

    /**
     * curl's {@code -u} argument for the printed command. The built-in local credentials are no secret and are
     * printed as they are (README "Quick start"); credentials the user supplied never are: the command then
     * names the variables, so the terminal's scrollback holds no password.
     */
    static String curlCredentials(Map<String, String> env) {
        if (!credentialsSupplied(env)) {
            return LocalPipeline.literalCredentials(DEFAULT_USERNAME, DEFAULT_PASSWORD);
        }
        return "\"${WEBHOOK_USERNAME:-" + DEFAULT_USERNAME + "}:${WEBHOOK_PASSWORD:-" + DEFAULT_PASSWORD + "}\"";
    }

    private static boolean credentialsSupplied(Map<String, String> env) {
        return env.containsKey("WEBHOOK_USERNAME") || env.containsKey("WEBHOOK_PASSWORD");
    }

    /** Settings passed through by name from the environment of `make local` (see README "Configuration"). */
    private static final Set<String> SETTINGS = Set.of("USER_ID_PROPERTY", "EXTRA_TRAITS", "RENAME_TRAITS",
            "HISTORY_TTL_DAYS", "DRY_RUN", "TRAIT_PREFIX", "DELTA_DELAY_SECONDS", "EXITED_TTL_DAYS", "SEGMENT_CALLS",
            "MISSING_USER_ID");
    /** ... and by prefix: the mass-exit guard and the reconciler's settings (RECONCILE_PASS_IDS, _CHUNK, _MAX_CHUNKS). */
    private static final List<String> SETTING_PREFIXES = List.of("MASS_EXIT_", "RECONCILE_");

    /** Function settings passed through from the environment; the resources (URLs, names) are this run's own. */
    static Map<String, String> functionSettings(Map<String, String> env) {
        Map<String, String> settings = new TreeMap<>();
        env.forEach((name, value) -> {
            boolean wanted = SETTINGS.contains(name) || SETTING_PREFIXES.stream().anyMatch(name::startsWith);
            if (wanted && !name.endsWith("_URL") && value != null && !value.isBlank()) {
                settings.put(name, value);
            }
        });
        return settings;
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
