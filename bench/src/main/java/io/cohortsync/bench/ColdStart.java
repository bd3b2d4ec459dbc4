package io.cohortsync.bench;

import io.cohortsync.bench.launch.ColdStartLauncher;
import io.cohortsync.bench.launch.EmptyHandler;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * Cold start of each function: a fresh JVM on the function's package (artifact root + lib/*.jar, as
 * the Lambda Java runtime puts them on the classpath) that constructs the handler and answers the
 * first event, timed from process start to the response, against the same launch with a handler that
 * does nothing. The packages are built by the Makefile's {@code build-<Function>} targets, the way
 * {@code sam build} runs them: in a copy of the repository with {@code ARTIFACTS_DIR} set.
 */
final class ColdStart {
    private static final Set<String> NOT_COPIED = Set.of(".git", ".aws-sam", "target");
    private static final long BUILD_TIMEOUT_MINUTES = 5;
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

    /** One launch: from process start to the response line, and the launcher's own split. */
    record Launch(double firstResponseMs, double initMs, double invokeMs, String response) {
    }

    /** Builds the packages of the given functions (e.g. WebhookFunction) from one copy of the repository. */
    static List<Package> buildPackages(Path repo, Path work, List<String> functionIds) {
        try {
            Path source = work.resolve("source");
            deleteTree(work);
            copyTree(repo, source);
            List<Package> packages = new ArrayList<>();
            for (String id : functionIds) {
                Path artifacts = work.resolve(id);
                Files.createDirectories(artifacts);
                long started = System.nanoTime();
                make(source, "build-" + id, artifacts, work.resolve("build-" + id + ".log"));
                double seconds = (System.nanoTime() - started) / 1e9;
                long jars;
                try (Stream<Path> lib = Files.list(artifacts.resolve("lib"))) {
                    jars = lib.count();
                }
                packages.add(new Package(id, artifacts, sizeOf(artifacts), zipSize(artifacts, work.resolve(id + ".zip")),
                        (int) jars, seconds));
            }
            return packages;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Launches {@code runs} cold starts of the handler and as many of {@link EmptyHandler}, alternating,
     * after one unmeasured launch of each when there are several (so both find the files in the page cache).
     *
     * @param environment called before each launch: the function's variables (a fresh stack each time)
     */
    static List<List<Launch>> measure(List<Path> classpath, Path work, String handlerClass, String eventClass,
                                      Path eventFile, Supplier<Map<String, String>> environment,
                                      List<String> jvmOptions, int runs) {
        List<Path> cp = new ArrayList<>(classpath);
        cp.add(launcherClasses(work));
        cp.add(serializationJar());
        List<Launch> real = new ArrayList<>();
        List<Launch> empty = new ArrayList<>();
        for (int i = runs > 1 ? -1 : 0; i < runs; i++) {
            Launch r = launch(cp, handlerClass, eventClass, eventFile, environment.get(), jvmOptions);
            Launch e = launch(cp, EmptyHandler.class.getName(), eventClass, eventFile, environment.get(), jvmOptions);
            if (i >= 0) {
                real.add(r);
                empty.add(e);
            }
        }
        return List.of(real, empty);
    }

    private static Launch launch(List<Path> classpath, String handlerClass, String eventClass, Path eventFile,
                                 Map<String, String> environment, List<String> jvmOptions) {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("-cp");
        command.add(String.join(File.pathSeparator, classpath.stream().map(Path::toString).toList()));
        command.add(ColdStartLauncher.class.getName());
        command.add(handlerClass);
        command.add(eventClass);
        command.add(eventFile.toString());
        ProcessBuilder pb = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putAll(environment);
        // As on Lambda: the template's options through JAVA_TOOL_OPTIONS.
        pb.environment().put("JAVA_TOOL_OPTIONS", String.join(" ", jvmOptions));
        try {
            long started = System.nanoTime();
            Process p = pb.start();
            String line;
            try (BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                line = out.readLine();
                double firstResponseMs = (System.nanoTime() - started) / 1e6;
                if (!p.waitFor(LAUNCH_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new IllegalStateException(handlerClass + " did not exit");
                }
                if (line == null || !line.startsWith("COLD-START ")) {
                    throw new IllegalStateException(handlerClass + " cold start failed (exit " + p.exitValue() + "): " + line);
                }
                var json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(line.substring("COLD-START ".length()));
                return new Launch(firstResponseMs, json.path("initMs").asDouble(), json.path("invokeMs").asDouble(),
                        json.path("response").asText());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * The launcher's classes alone, copied out of this module, so the function's JVM loads nothing of
     * the benchmark but them (this module's classpath resource would register its interceptor).
     */
    private static Path launcherClasses(Path work) {
        String prefix = ColdStartLauncher.class.getPackageName().replace('.', '/') + "/";
        Path target = work.resolve("launcher");
        try {
            Path source = Path.of(ColdStartLauncher.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            if (Files.isDirectory(source)) {
                try (Stream<Path> files = Files.list(source.resolve(prefix))) {
                    for (Path f : (Iterable<Path>) files.filter(p -> p.toString().endsWith(".class"))::iterator) {
                        Path to = target.resolve(prefix).resolve(f.getFileName().toString());
                        Files.createDirectories(to.getParent());
                        Files.copy(f, to, StandardCopyOption.REPLACE_EXISTING);
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
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
        return target;
    }

    /** aws-lambda-java-serialization: the runtime's event serializer, not part of a function package. */
    private static Path serializationJar() {
        try {
            return Path.of(com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers.class
                    .getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Runs make as SAM's makefile builder does: in the copy, ARTIFACTS_DIR set, no outer make's flags. */
    private static void make(Path source, String target, Path artifacts, Path log) {
        ProcessBuilder make = new ProcessBuilder("make", "--makefile", source.resolve("Makefile").toString(), target)
                .directory(source.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
        make.environment().put("ARTIFACTS_DIR", artifacts.toString());
        for (String inherited : List.of("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")) {
            make.environment().remove(inherited);
        }
        try {
            Process p = make.start();
            if (!p.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new IllegalStateException("make " + target + " did not finish; see " + log);
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException("make " + target + " exited " + p.exitValue() + "; see " + log);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        Files.walkFileTree(from, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                if (!dir.equals(from) && NOT_COPIED.contains(dir.getFileName().toString())) {
                    return FileVisitResult.SKIP_SUBTREE;
                }
                Files.createDirectories(to.resolve(from.relativize(dir).toString()));
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                if (!NOT_COPIED.contains(file.getFileName().toString())) { // a worktree's .git is a file
                    Files.copy(file, to.resolve(from.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES,
                            LinkOption.NOFOLLOW_LINKS);
                }
                return FileVisitResult.CONTINUE;
            }
        });
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

    private static long sizeOf(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
        }
    }

    private static long zipSize(Path dir, Path zip) throws IOException {
        try (OutputStream out = Files.newOutputStream(zip); ZipOutputStream z = new ZipOutputStream(out);
             Stream<Path> files = Files.walk(dir)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                z.putNextEntry(new ZipEntry(dir.relativize(f).toString()));
                Files.copy(f, z);
                z.closeEntry();
            }
        }
        return Files.size(zip);
    }
}
