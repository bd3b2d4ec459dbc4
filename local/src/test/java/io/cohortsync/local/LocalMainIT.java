package io.cohortsync.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * {@code make local}'s console, as a user sees it: {@link LocalMain} in its own JVM (its own moto_server,
 * as when AWS_ENDPOINT_URL is unset), read until the ready line and the curl command after it. Credentials
 * the user supplied through the environment must not be printed (they end up in terminal scrollback and
 * screen shares); the printed command must still work when pasted into a shell that has them.
 * Each test owns the process it starts and stops it, and whatever it started, pass or fail.
 */
class LocalMainIT {
    private static final Duration READY = Duration.ofSeconds(120);

    @TempDir
    Path work;

    @Test
    void readyLines_printNoCredentialTheUserSupplied_andTheCurlWorksInAShellThatHasThem() throws Exception {
        // given credentials of the user's own, from the environment as `WEBHOOK_PASSWORD=… make local` passes them
        String password = "pw-" + UUID.randomUUID();
        String writeKey = "wk-" + UUID.randomUUID();
        Map<String, String> env = Map.of("WEBHOOK_USERNAME", "mixpanel-dev", "WEBHOOK_PASSWORD", password,
                "SEGMENT_WRITE_KEY", writeKey);

        try (Local local = Local.start(work, env)) {
            // then nothing printed up to and including the curl line holds either secret
            assertThat(local.console()).as("make local's console").noneMatch(l -> l.contains(password))
                    .noneMatch(l -> l.contains(writeKey));
            // and the curl line, pasted into a terminal at the repository root that has the same variables,
            // posts the samples with them
            String output = runInShell(local.curlLine(), env);
            assertThat(output.lines().filter(l -> l.contains("\"status\":\"success\"")).count()).as(output).isEqualTo(4);
        }
    }

    @Test
    void readyLines_printTheBuiltInLocalCredentials_whenNoneAreSupplied() throws Exception {
        try (Local local = Local.start(work, Map.of())) {
            // README "Quick start" shows exactly this: the local defaults are no secret
            assertThat(local.curlLine()).contains("-u 'mixpanel:local-secret'");
            String output = runInShell(local.curlLine(), Map.of());
            assertThat(output.lines().filter(l -> l.contains("\"status\":\"success\"")).count()).as(output).isEqualTo(4);
        }
    }

    @Test
    void console_showsOneShortLinePerRequestAndBatch_madeFromTheFunctionsLog() throws Exception {
        try (Local local = Local.start(work, Map.of())) {
            // when the README's samples are posted (two pages of a full sync, an add, a remove)
            String posted = runInShell(local.curlLine(), Map.of());
            assertThat(posted.lines().filter(l -> l.contains("\"status\":\"success\"")).count()).as(posted).isEqualTo(4);
            List<String> console = local.awaitLine(l -> l.startsWith("sender "), Duration.ofSeconds(60));

            // then each request and batch is one short line, in place of the JSON and EMF lines
            assertThat(console).anyMatch(l -> l.matches("webhook +members +cohort 1457721  page 1/2  3 received  \\+3 -0"
                            + "  session INCOMPLETE  200  \\d+ ms"))
                    .anyMatch(l -> l.matches("webhook +members +cohort 1457721  page 2/2  3 received  \\+3 -0"
                            + "  session RECONCILING  200  \\d+ ms"))
                    .anyMatch(l -> l.matches("webhook +add_members +cohort 1457721  page 1/1  2 received  \\+2 -0  200  \\d+ ms"))
                    .anyMatch(l -> l.matches("sender +batch +\\d+ messages?  \\d+ deltas?  sent \\d+.*  Segment 200×1"
                            + "  cohort 1457721  \\d+ ms"))
                    .noneMatch(l -> l.startsWith("{"))
                    .noneMatch(l -> l.contains("_aws"))
                    .noneMatch(l -> l.contains("SLF4J"));
        }
    }

    @Test
    void console_showsWhatLambdaWouldLog_whenLogFormatIsJson() throws Exception {
        try (Local local = Local.start(work, Map.of("LOG_FORMAT", "json"))) {
            // when
            runInShell(local.curlLine(), Map.of());
            List<String> console = local.awaitLine(l -> l.contains("\"message\":\"sender batch handled\""),
                    Duration.ofSeconds(60));

            // then the functions' JSON log lines and EMF blobs, unchanged, and no short lines
            ObjectMapper json = new ObjectMapper();
            List<String> webhook = console.stream().filter(l -> l.contains("\"message\":\"webhook handled\"")).toList();
            assertThat(webhook).hasSizeGreaterThanOrEqualTo(3);
            for (String line : webhook) {
                assertThat(json.readTree(line).path("function").asText()).isEqualTo("webhook");
            }
            assertThat(console).anyMatch(l -> l.startsWith("{\"_aws\":") && l.contains("\"WebhookRequests\""))
                    .anyMatch(l -> l.startsWith("{\"_aws\":") && l.contains("\"IdentifiesSent\""))
                    .noneMatch(l -> l.startsWith("webhook ") || l.startsWith("sender "))
                    .noneMatch(l -> l.contains("SLF4J"));
        }
    }

    /** Runs a printed command the way a user pastes it: bash, at the repository root, with {@code env} exported. */
    private static String runInShell(String command, Map<String, String> env) throws Exception {
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", command).directory(repositoryRoot().toFile())
                .redirectErrorStream(true);
        pb.environment().remove("WEBHOOK_USERNAME");
        pb.environment().remove("WEBHOOK_PASSWORD");
        pb.environment().putAll(env);
        Process shell = pb.start();
        try {
            assertThat(shell.waitFor(60, TimeUnit.SECONDS)).as("the printed curl finishes").isTrue();
            return new String(shell.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        } finally {
            shell.destroyForcibly();
        }
    }

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("Makefile")) && Files.isDirectory(p.resolve("events/mixpanel"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
    }

    /** A running {@code LocalMain} (and the moto_server it started), stopped by {@link #close()}. */
    private static final class Local implements AutoCloseable {
        private final Process process;
        private final List<String> console = new ArrayList<>();
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<ProcessHandle> started = new ArrayList<>();

        private Local(Process process) {
            this.process = process;
        }

        /** Starts LocalMain as `make local` does (dummy AWS credentials), {@code env} added, and waits for its ready lines. */
        static Local start(Path work, Map<String, String> env) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-cp", System.getProperty("java.class.path"), LocalMain.class.getName())
                    .directory(work.toFile()) // its target/ (moto log, identifies file) goes there
                    .redirectErrorStream(true);
            Map<String, String> childEnv = pb.environment();
            for (String name : List.of("AWS_ENDPOINT_URL", "WEBHOOK_USERNAME", "WEBHOOK_PASSWORD", "SEGMENT_WRITE_KEY",
                    "SEGMENT_ENDPOINT")) {
                childEnv.remove(name);
            }
            childEnv.put("AWS_ACCESS_KEY_ID", "testing");
            childEnv.put("AWS_SECRET_ACCESS_KEY", "testing");
            childEnv.put("AWS_REGION", "us-east-1");
            childEnv.put("PORT", Integer.toString(freePort()));
            childEnv.putAll(env);
            Local local = new Local(pb.start());
            try {
                local.awaitReady();
            } catch (Throwable t) {
                local.close();
                throw t;
            }
            return local;
        }

        private void awaitReady() throws Exception {
            Thread reader = new Thread(() -> {
                try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(),
                        StandardCharsets.UTF_8))) {
                    for (String line; (line = in.readLine()) != null; ) {
                        lines.add(line);
                    }
                } catch (IOException closed) {
                    // the process was stopped
                }
            }, "local-main-console");
            reader.setDaemon(true);
            reader.start();
            Instant deadline = Instant.now().plus(READY);
            boolean ready = false;
            while (Instant.now().isBefore(deadline)) {
                String line = lines.poll(1, TimeUnit.SECONDS);
                if (line == null) {
                    assertThat(process.isAlive()).as("LocalMain is running; its output: %s", console).isTrue();
                    continue;
                }
                console.add(line);
                if (ready) {
                    break; // the line after the ready line: the curl command
                }
                ready = line.startsWith("cohort-sync ready: ");
            }
            assertThat(ready && console.size() >= 2).as("ready line and curl line within %s: %s", READY, console).isTrue();
            process.descendants().forEach(started::add); // moto_server, to be sure it goes too
        }

        List<String> console() {
            return console;
        }

        /** Reads the console on until a line matches (and a moment more for lines printed with it); all lines so far. */
        List<String> awaitLine(java.util.function.Predicate<String> wanted, Duration within) throws Exception {
            Instant deadline = Instant.now().plus(within);
            Instant until = null;
            while (Instant.now().isBefore(until != null ? until : deadline)) {
                String line = lines.poll(200, TimeUnit.MILLISECONDS);
                if (line == null) {
                    continue;
                }
                console.add(line);
                if (until == null && wanted.test(line)) {
                    until = Instant.now().plusSeconds(2);
                }
            }
            assertThat(until).as("a wanted line within %s; the console: %s", within, console).isNotNull();
            return List.copyOf(console);
        }

        String curlLine() {
            return console.getLast();
        }

        @Override
        public void close() throws InterruptedException {
            started.addAll(process.descendants().toList());
            process.destroy(); // SIGTERM: LocalMain's shutdown hook stops the pipeline and its moto_server
            if (!process.waitFor(30, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            started.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
