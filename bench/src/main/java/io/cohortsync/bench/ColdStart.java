package io.cohortsync.bench;

import io.cohortsync.bench.launch.BareSdkHandler;
import io.cohortsync.bench.launch.EmptyHandler;
import io.cohortsync.testkit.LambdaExecutionEnvironment;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.RuntimeApiStandIn;
import io.cohortsync.testkit.SamMakeBuild;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Cold starts through the real Lambda runtime client (aws-lambda-java-runtime-interface-client, as AWS's
 * Java base images run it; testkit's {@link LambdaExecutionEnvironment}): a fresh JVM per launch on a
 * package (classes at the root, {@code lib/*.jar}), the handler string resolved and loaded by the client,
 * the events taken from a Runtime API stand-in, one at a time, timed from process start to the response the
 * runtime posts. Our functions' packages are those the Makefile's {@code build-<Function>} targets make
 * the way {@code sam build} runs them; two baselines go through the same runtime in the same run: an
 * empty handler (a package of one class) and a bare-SDK handler ({@link BareSdkHandler}, on the webhook
 * package's jars).
 * <p>A function launch answers several requests of equal work: the first, then warm ones in the same JVM.
 * Launched {@link LambdaRuntimeProcess.Init#ON_DEMAND on-demand}, its first request pays for every first use;
 * launched with {@code AWS_LAMBDA_INITIALIZATION_TYPE=snap-start} ({@link LambdaRuntimeProcess.Init#SNAP_START}),
 * the runtime client runs SnapStart's flow after init: the org.crac hooks' {@code beforeCheckpoint} (our
 * primers), {@code GET /restore/next}, {@code afterRestore}, then the first {@code GET /next}. No snapshot is
 * taken (no CRaC-capable JVM here), so the first request runs in the same JVM, primed: the nearest this machine
 * gets to the first request after a restore. The classes each request loads are counted from the JVM's
 * {@code -Xlog:class+load} with {@code System.nanoTime()} stamps (the {@code tn} decorator, the clock the stand-in
 * stamps the request with).
 */
final class ColdStart {
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);
    private static final Pattern CLASS_LOAD = Pattern.compile("^\\[(\\d+)ns]");
    /** The primer's log line ({@code io.cohortsync.snapstart.Priming}), possibly escaped inside the runtime's JSON. */
    private static final Pattern PRIMING_MS = Pattern.compile("priming done.*[,{]\\\\?\"ms\\\\?\":\\s*(\\d+)");

    private ColdStart() {
    }

    /** A function's deployment package as sam build leaves it. */
    record Package(String functionId, Path root, long unzippedBytes, long zippedBytes, int jars, double buildSeconds) {
    }

    /**
     * One launch. {@code initMs}: process start to the runtime's first {@code GET /next} (JVM start, the
     * runtime client's start, the handler's class loading and constructor: Lambda's "Init Duration"; under
     * SnapStart's flow the hooks and the restore too); {@code invokeMs}: the first event taken to the response
     * posted; {@code firstResponseMs}: process start to the first response.
     *
     * @param primed        launched with SnapStart's flow: the runtime client ran the hooks (priming) before the
     *                      first request
     * @param primeMs       how long our primer took, as it logged it (at snapshot time on Lambda, not part of a
     *                      restore); NaN when not primed or not logged
     * @param requestMs     every request's time (event taken to response posted), the first included (later ones
     *                      are warm requests)
     * @param classesLoaded the classes the JVM loaded during each request (what priming should have loaded);
     *                      -1 each when the class log could not be written
     */
    record Launch(double firstResponseMs, double initMs, double invokeMs, String response, boolean primed,
                  double primeMs, List<Double> requestMs, List<Integer> classesLoaded) {
        /** The first request: event taken, handler, response posted. */
        double firstRequestMs() {
            return requestMs.getFirst();
        }

        /** The median of the warm requests after the second (the second still pays for some first uses). */
        double warmMs() {
            return requestMs.size() < 3 ? Double.NaN : Stats.median(requestMs.subList(2, requestMs.size()));
        }
    }

    /**
     * What to launch: a package, its handler string, its events in order (the first, then warm ones), its
     * variables (fresh for each launch), and how the runtime initializes it.
     */
    record Subject(String name, Path taskRoot, String handler, List<String> events, Duration timeout,
                   Supplier<Map<String, String>> environment, int memoryMb, LambdaRuntimeProcess.Init init) {
        Subject {
            events = List.copyOf(events);
            if (events.isEmpty()) {
                throw new IllegalArgumentException(name + ": no event");
            }
        }
    }

    /** The functions' packages, built as sam build builds them (reused when this tree was built before). */
    static List<Package> buildPackages(Path repo, Path work, List<String> functionIds) {
        try {
            Files.createDirectories(work);
            List<Package> packages = new ArrayList<>();
            for (SamMakeBuild.Built b : SamMakeBuild.packages(repo, functionIds, repo.resolve("target/sam-packages"),
                    BUILD_TIMEOUT)) {
                long jars;
                try (Stream<Path> lib = Files.list(b.root().resolve("lib"))) {
                    jars = lib.count();
                }
                packages.add(new Package(b.functionId(), b.root(), SamMakeBuild.unzippedBytes(b.root()),
                        SamMakeBuild.zippedBytes(b.root(), work.resolve(b.functionId() + ".zip")), (int) jars,
                        b.buildSeconds()));
            }
            return packages;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The empty handler's package: its one class at the root, no lib/. */
    static Path emptyPackage(Path work) {
        return launcherPackage(work.resolve("empty-handler"), null);
    }

    /** The bare-SDK handler's package: its class at the root, the webhook package's jars in lib/. */
    static Path bareSdkPackage(Path work, Package webhook) {
        return launcherPackage(work.resolve("bare-sdk-handler"), webhook.root().resolve("lib"));
    }

    static String handlerOf(Class<?> type) {
        return type.getName() + "::handleRequest";
    }

    /**
     * {@code runs} rounds of one cold start of every subject, in order, after one unmeasured round when
     * there are several (so every package's files are in the page cache): side by side in one run.
     *
     * @return subject name → its launches, in order
     */
    static Map<String, List<Launch>> measure(List<Subject> subjects, int runs, Path logDir) {
        Map<String, List<Launch>> launches = new LinkedHashMap<>();
        subjects.forEach(s -> launches.put(s.name(), new ArrayList<>()));
        for (int round = runs > 1 ? -1 : 0; round < runs; round++) {
            for (Subject s : subjects) {
                Launch l = launch(s, logDir, s.name() + "-" + (round < 0 ? "warm-up" : "run" + round));
                if (round >= 0) {
                    launches.get(s.name()).add(l);
                }
            }
        }
        return launches;
    }

    private static Launch launch(Subject s, Path logDir, String name) {
        Path log = logDir.resolve(name + ".log");
        Path classLog = logDir.resolve(name + ".classes").toAbsolutePath();
        boolean primed = s.init() == LambdaRuntimeProcess.Init.SNAP_START;
        Map<String, String> variables = new LinkedHashMap<>(s.environment().get());
        // JAVA_TOOL_OPTIONS splits on whitespace: a path with a space cannot be named there (no class counts then).
        boolean countClasses = !classLog.toString().matches(".*\\s.*");
        if (countClasses) {
            String options = variables.getOrDefault("JAVA_TOOL_OPTIONS", "");
            variables.put("JAVA_TOOL_OPTIONS", (options.isBlank() ? "" : options + " ")
                    + "-Xlog:class+load=info:file=" + classLog + ":tn");
        }
        LambdaRuntimeProcess.Spec spec = new LambdaRuntimeProcess.Spec(s.name(), s.taskRoot(), s.handler(),
                variables, s.memoryMb(), s.init(),
                // As Lambda's Java runtime: SnapStart functions get their credentials from the container endpoint.
                primed ? LambdaRuntimeProcess.Credentials.CONTAINER : LambdaRuntimeProcess.Credentials.ACCESS_KEYS,
                "JSON", "INFO");
        try {
            Files.createDirectories(logDir);
            Files.deleteIfExists(classLog);
            Files.deleteIfExists(log);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        try (LambdaExecutionEnvironment env = LambdaExecutionEnvironment.start(spec, log)) {
            List<RuntimeApiStandIn.Outcome> outcomes = new ArrayList<>();
            for (String event : s.events()) {
                RuntimeApiStandIn.Outcome o = env.invoke(event, s.timeout());
                if (o.error()) {
                    throw new IllegalStateException(s.name() + " request " + (outcomes.size() + 1) + " failed: "
                            + o.errorType() + " " + o.bodyText() + "\n" + env.process().outputTail(20));
                }
                outcomes.add(o);
            }
            if (primed && env.api().restoreNextCalls() != 1) {
                throw new IllegalStateException(s.name() + ": the runtime client did not run SnapStart's restore flow ("
                        + env.api().restoreNextCalls() + " GET /restore/next)\n" + env.process().outputTail(20));
            }
            long started = env.process().startedNanos();
            RuntimeApiStandIn.Outcome first = outcomes.getFirst();
            List<Double> requestMs = outcomes.stream().map(RuntimeApiStandIn.Outcome::invokeMs).toList();
            env.close(); // the class log is complete once the JVM has exited
            return new Launch((first.completedNanos() - started) / 1e6, (env.api().firstNextNanos() - started) / 1e6,
                    first.invokeMs(), first.bodyText(), primed, primed ? primerMs(log) : Double.NaN, requestMs,
                    countClasses ? classesLoaded(classLog, outcomes) : outcomes.stream().map(o -> -1).toList());
        }
    }

    /** The classes the class log stamps inside each request's window (event taken to response posted). */
    static List<Integer> classesLoaded(Path classLog, List<RuntimeApiStandIn.Outcome> outcomes) {
        int[] counts = new int[outcomes.size()];
        try (Stream<String> lines = Files.exists(classLog) ? Files.lines(classLog) : Stream.empty()) {
            lines.forEach(line -> {
                Matcher m = CLASS_LOAD.matcher(line);
                if (m.find()) {
                    long at = Long.parseLong(m.group(1));
                    for (int i = 0; i < counts.length; i++) {
                        if (at >= outcomes.get(i).takenNanos() && at <= outcomes.get(i).completedNanos()) {
                            counts[i]++;
                        }
                    }
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return Arrays.stream(counts).boxed().toList();
    }

    /** The {@code ms} of the primer's "priming done" line in the runtime's output; NaN if it logged none. */
    private static double primerMs(Path log) {
        try {
            if (!Files.exists(log)) {
                return Double.NaN;
            }
            for (String line : Files.readAllLines(log, StandardCharsets.UTF_8)) {
                Matcher m = PRIMING_MS.matcher(line);
                if (m.find()) {
                    return Double.parseDouble(m.group(1));
                }
            }
            return Double.NaN;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A package of this module's launch classes alone (copied out of this module, so the runtime loads
     * nothing of the benchmark but them: this module's classpath resource would register its interceptor),
     * with {@code lib}'s jars, if any, copied into its lib/.
     */
    private static Path launcherPackage(Path root, Path lib) {
        String prefix = EmptyHandler.class.getPackageName().replace('.', '/') + "/";
        try {
            deleteTree(root);
            Path source = Path.of(EmptyHandler.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.list(source.resolve(prefix))) {
                    for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                        Path to = root.resolve(prefix).resolve(f.getFileName().toString());
                        Files.createDirectories(to.getParent());
                        Files.copy(f, to, StandardCopyOption.REPLACE_EXISTING);
                    }
                }
            } else {
                try (JarFile jar = new JarFile(source.toFile())) {
                    for (var entry : (Iterable<JarEntry>) jar.stream()::iterator) {
                        if (entry.getName().startsWith(prefix) && entry.getName().endsWith(".class")) {
                            Path to = root.resolve(entry.getName());
                            Files.createDirectories(to.getParent());
                            try (InputStream in = jar.getInputStream(entry)) {
                                Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
                            }
                        }
                    }
                }
            }
            if (lib != null) {
                Files.createDirectories(root.resolve("lib"));
                try (Stream<Path> jars = Files.list(lib)) {
                    for (Path j : (Iterable<Path>) jars::iterator) {
                        Files.copy(j, root.resolve("lib").resolve(j.getFileName().toString()));
                    }
                }
            }
            return root;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    static String read(Path event) {
        try {
            return Files.readString(event, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) files.sorted((a, b) -> b.compareTo(a))::iterator) {
                Files.delete(p);
            }
        }
    }
}
