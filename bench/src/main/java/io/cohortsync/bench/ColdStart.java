package io.cohortsync.bench;

import io.cohortsync.bench.launch.ColdStartLauncher;
import io.cohortsync.bench.launch.EmptyHandler;
import io.cohortsync.testkit.LambdaCrac;
import io.cohortsync.testkit.SamMakeBuild;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * Cold start of each function: a fresh JVM on the function's package (artifact root + lib/*.jar, as
 * the Lambda Java runtime puts them on the classpath) that constructs the handler and answers the
 * first event, timed from process start to the response, against the same launch with a handler that
 * does nothing. The packages are built by the Makefile's {@code build-<Function>} targets, the way
 * {@code sam build} runs them: in a copy of the repository with {@code ARTIFACTS_DIR} set.
 */
final class ColdStart {
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);
    private static final long LAUNCH_TIMEOUT_SECONDS = 60;

    private ColdStart() {
    }

    /** A function's deployment package as sam build leaves it. */
    record Package(String functionId, Path root, long unzippedBytes, long zippedBytes, int jars, double buildSeconds) {
        List<Path> classpath() {
            List<Path> cp = new ArrayList<>();
            cp.add(root);
            try (Stream<Path> lib = Files.list(root.resolve("lib"))) {
                lib.filter(p -> p.toString().endsWith(".jar")).sorted().forEach(cp::add);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return cp;
        }
    }

    /**
     * One launch: from process start to the first response, and the launcher's own split.
     *
     * @param primed    whether the runtime client's CRaC context ran the hooks (priming) before the first request
     * @param primeMs   how long the hooks took (at snapshot time on Lambda, not part of a restore)
     * @param invokeMs  the first request: event read, handler, response written
     * @param requestMs every request's time, the first included (later ones are warm requests)
     * @param handlerMs every request's time in the handler alone
     * @param classesLoaded the classes the JVM loaded during each request (what priming should have loaded)
     */
    record Launch(double firstResponseMs, double initMs, double invokeMs, String response, boolean primed,
                  double primeMs, List<Double> requestMs, List<Double> handlerMs, List<Integer> classesLoaded) {
        /** The first request: event read, handler, response written. */
        double firstRequestMs() {
            return requestMs.getFirst();
        }

        /** The median of the warm requests after the second (the second still pays for some first uses). */
        double warmMs() {
            return requestMs.size() < 3 ? Double.NaN : Stats.median(requestMs.subList(2, requestMs.size()));
        }
    }

    /** Each function's launches, by mode. */
    record Launches(List<Launch> cold, List<Launch> primed, List<Launch> empty) {
    }

    /** Builds the packages of the given functions (e.g. WebhookFunction) from one copy of the repository. */
    static List<Package> buildPackages(Path repo, Path work, List<String> functionIds) {
        try {
            Path source = work.resolve("source");
            deleteTree(work);
            SamMakeBuild.copyRepository(repo, source);
            List<Package> packages = new ArrayList<>();
            for (String id : functionIds) {
                Path artifacts = work.resolve(id);
                long started = System.nanoTime();
                SamMakeBuild.build(source, id, artifacts, work.resolve("build-" + id + ".log"), BUILD_TIMEOUT);
                double seconds = (System.nanoTime() - started) / 1e9;
                long jars;
                try (Stream<Path> lib = Files.list(artifacts.resolve("lib"))) {
                    jars = lib.count();
                }
                packages.add(new Package(id, artifacts, SamMakeBuild.unzippedBytes(artifacts),
                        SamMakeBuild.zippedBytes(artifacts, work.resolve(id + ".zip")),
                        (int) jars, seconds));
            }
            return packages;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Launches {@code runs} cold starts of the handler, as many primed starts and as many of {@link EmptyHandler},
     * alternating, after one unmeasured launch of each when there are several (so all find the files in the page
     * cache). The handler's launches answer {@code events} in order: the first request, then warm ones.
     *
     * @param environment called before each launch: the function's variables (a fresh stack each time, holding
     *                    what the events need)
     */
    static Launches measure(List<Path> classpath, Path work, String handlerClass, String eventClass,
                            List<Path> events, Supplier<Map<String, String>> environment,
                            List<String> jvmOptions, int runs) {
        List<Path> cp = new ArrayList<>(classpath);
        cp.add(launcherClasses(work));
        cp.add(jarOf(com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers.class));
        cp.add(jarOf(com.amazonaws.services.lambda.crac.Core.class));
        List<Launch> cold = new ArrayList<>();
        List<Launch> primed = new ArrayList<>();
        List<Launch> empty = new ArrayList<>();
        for (int i = runs > 1 ? -1 : 0; i < runs; i++) {
            Launch c = launch(cp, handlerClass, eventClass, "cold", events, environment.get(), jvmOptions);
            Launch p = launch(cp, handlerClass, eventClass, "primed", events, environment.get(), jvmOptions);
            Launch e = launch(cp, EmptyHandler.class.getName(), eventClass, "cold", events.subList(0, 1),
                    environment.get(), jvmOptions);
            if (i >= 0) {
                cold.add(c);
                primed.add(p);
                empty.add(e);
            }
        }
        return new Launches(cold, primed, empty);
    }

    private static Launch launch(List<Path> classpath, String handlerClass, String eventClass, String mode,
                                 List<Path> events, Map<String, String> environment, List<String> jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // As Lambda's Java runtime starts the JVM: org.crac forwards to the runtime client's CRaC context.
        command.add("-D" + LambdaCrac.COMPAT_PROPERTY + "=" + LambdaCrac.COMPAT_PACKAGE);
        command.add("-cp");
        command.add(String.join(File.pathSeparator, classpath.stream().map(Path::toString).toList()));
        command.add(ColdStartLauncher.class.getName());
        command.add(handlerClass);
        command.add(eventClass);
        command.add(mode);
        events.forEach(e -> command.add(e.toString()));
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(environment);
        // As on Lambda: the template's options through JAVA_TOOL_OPTIONS.
        pb.environment().put("JAVA_TOOL_OPTIONS", String.join(" ", jvmOptions));
        try {
            long started = System.nanoTime();
            Process p = pb.start();
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String first = out.readLine();
                double firstResponseMs = (System.nanoTime() - started) / 1e6;
                String line = out.readLine();
                if (!p.waitFor(LAUNCH_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(handlerClass + " did not exit");
                }
                if (!"FIRST-RESPONSE".equals(first) || line == null || !line.startsWith("COLD-START ")) {
                    throw new IllegalStateException(handlerClass + " " + mode + " start failed (exit " + p.exitValue()
                            + "): " + first + " / " + line);
                }
                var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line.substring("COLD-START ".length()));
                List<Double> requestMs = new ArrayList<>();
                List<Double> handlerMs = new ArrayList<>();
                List<Integer> classesLoaded = new ArrayList<>();
                json.path("requests").forEach(r -> {
                    requestMs.add(r.path("totalMs").asDouble());
                    handlerMs.add(r.path("handlerMs").asDouble());
                    classesLoaded.add(r.path("classesLoaded").asInt());
                });
                return new Launch(firstResponseMs, json.path("initMs").asDouble(), json.path("invokeMs").asDouble(),
                        json.path("response").asText(), "primed".equals(mode), json.path("primeMs").asDouble(),
                        List.copyOf(requestMs), List.copyOf(handlerMs), List.copyOf(classesLoaded));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The launcher's classes alone, and testkit's {@link LambdaCrac}, copied out of their modules, so the
     * function's JVM loads nothing of the benchmark but them (this module's classpath resource would register
     * its interceptor).
     */
    private static Path launcherClasses(Path work) {
        Path target = work.resolve("launcher");
        String prefix = ColdStartLauncher.class.getPackageName().replace('.', '/') + "/";
        copyClasses(ColdStartLauncher.class, prefix, target);
        copyClasses(LambdaCrac.class, LambdaCrac.class.getName().replace('.', '/'), target);
        return target;
    }

    /** Copies the classes whose path starts with {@code prefix} from {@code anchor}'s directory or jar. */
    private static void copyClasses(Class<?> anchor, String prefix, Path target) {
        try {
            Path source = jarOf(anchor);
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.walk(source)) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        String name = source.relativize(f).toString().replace(File.separatorChar, '/');
                        if (name.startsWith(prefix) && name.endsWith(".class")) {
                            Path to = target.resolve(name);
                            Files.createDirectories(to.getParent());
                            Files.copy(f, to, StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            } else {
                try (JarFile jar = new JarFile(source.toFile())) {
                    for (var entry : (Iterable<java.util.jar.JarEntry>) jar.stream()::iterator) {
                        if (entry.getName().startsWith(prefix) && entry.getName().endsWith(".class")) {
                            Path to = target.resolve(entry.getName());
                            Files.createDirectories(to.getParent());
                            try (InputStream in = jar.getInputStream(entry)) {
                                Files.copy(in, to, StandardCopyOption.REPLACE_EXISTING);
                            }
                        }
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The jar (or classes directory) a class comes from: aws-lambda-java-serialization (the runtime's event
     * serializer) and the runtime client (its CRaC context) are not part of a function package.
     */
    private static Path jarOf(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
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
