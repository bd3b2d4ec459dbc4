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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Cold starts through the real Lambda runtime client (aws-lambda-java-runtime-interface-client, as AWS's
 * Java base images run it; testkit's {@link LambdaExecutionEnvironment}): a fresh JVM per launch on a
 * package (classes at the root, {@code lib/*.jar}), the handler string resolved and loaded by the client,
 * the first event taken from a Runtime API stand-in, timed from process start to the response the
 * runtime posts. Our functions' packages are those the Makefile's {@code build-<Function>} targets make
 * the way {@code sam build} runs them; two baselines go through the same runtime in the same run: an
 * empty handler (a package of one class) and a bare-SDK handler ({@link BareSdkHandler}, on the webhook
 * package's jars).
 */
final class ColdStart {
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);

    private ColdStart() {
    }

    /** A function's deployment package as sam build leaves it. */
    record Package(String functionId, Path root, long unzippedBytes, long zippedBytes, int jars, double buildSeconds) {
    }

    /**
     * One launch. {@code initMs}: process start to the runtime's first {@code GET /next} (JVM start, the
     * runtime client's start, the handler's class loading and constructor: Lambda's "Init Duration");
     * {@code invokeMs}: that event taken to the response posted; {@code firstResponseMs}: process start to
     * the response.
     */
    record Launch(double firstResponseMs, double initMs, double invokeMs, String response) {
    }

    /** What to launch: a package, its handler string, its first event, its variables (fresh for each launch). */
    record Subject(String name, Path taskRoot, String handler, String event, Duration timeout,
                   Supplier<Map<String, String>> environment, int memoryMb) {
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
                Launch l = launch(s, logDir.resolve(s.name() + "-" + (round < 0 ? "warm-up" : "run" + round) + ".log"));
                if (round >= 0) {
                    launches.get(s.name()).add(l);
                }
            }
        }
        return launches;
    }

    private static Launch launch(Subject s, Path log) {
        LambdaRuntimeProcess.Spec spec = new LambdaRuntimeProcess.Spec(s.name(), s.taskRoot(), s.handler(),
                s.environment().get(), s.memoryMb(), LambdaRuntimeProcess.Init.ON_DEMAND,
                LambdaRuntimeProcess.Credentials.ACCESS_KEYS, "JSON", "INFO");
        try (LambdaExecutionEnvironment env = LambdaExecutionEnvironment.start(spec, log)) {
            RuntimeApiStandIn.Outcome o = env.invoke(s.event(), s.timeout());
            if (o.error()) {
                throw new IllegalStateException(s.name() + " cold start failed: " + o.errorType() + " " + o.bodyText()
                        + "\n" + env.process().outputTail(20));
            }
            long started = env.process().startedNanos();
            return new Launch((o.completedNanos() - started) / 1e6, (env.api().firstNextNanos() - started) / 1e6,
                    o.invokeMs(), o.bodyText());
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
                    for (var entry : (Iterable<java.util.jar.JarEntry>) jar.stream()::iterator) {
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
