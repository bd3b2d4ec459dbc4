package io.cohortsync.infra;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
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
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Packages each function the way `sam build` does with BuildMethod makefile: the repo copied to a
 * scratch directory (without .git, .aws-sam, and build output, as in a fresh clone), then
 * {@code make build-<LogicalId>} run there with ARTIFACTS_DIR in the environment. Then checks what
 * the Lambda Java runtime will load: handler at the root, runtime jars in lib/, nothing else.
 */
class SamBuildIT {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));
    private static final Set<String> NOT_COPIED = Set.of(".git", ".aws-sam", "target");
    /** Jars that must never reach a package: unused SDK HTTP clients, test tooling, the test harness. */
    private static final String FORBIDDEN_JAR = "^(apache-client|apache5-client|netty-nio-client|httpclient5|junit-"
            + "|assertj-|jqwik|opentest4j|cohort-sync-testkit|aws-lambda-java-serialization).*";
    private static final int JAVA_21_CLASS_MAJOR = 65;
    private static final long BUILD_TIMEOUT_MINUTES = 4;

    @TempDir
    Path work;

    @Test
    void webhookPackage_loadsTheHandlerFromTheRootWithOnlyRuntimeJarsInLib() throws Exception {
        checkPackage("WebhookFunction");
    }

    @Test
    void senderPackage_loadsTheHandlerFromTheRootWithOnlyRuntimeJarsInLib_whenTheSenderModuleExists()
            throws Exception {
        assumeTrue(Repo.moduleExists("functions/sender"), "functions/sender is not in this tree yet");
        checkPackage("SenderFunction");
    }

    private void checkPackage(String functionId) throws Exception {
        // given
        String handler = TEMPLATE.functionProperty(functionId, "Handler").asText();
        String className = handler.substring(0, handler.indexOf("::"));
        Path source = work.resolve("source");
        Path artifacts = work.resolve("artifacts");
        copyTree(Repo.ROOT, source);
        Files.createDirectories(artifacts);

        // when
        long started = System.nanoTime();
        runMake(source, "build-" + functionId, artifacts);
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - started);

        // then: the handler class at the artifact root, compiled for the java21 runtime
        Path handlerClass = artifacts.resolve(className.replace('.', '/') + ".class");
        assertThat(handlerClass).as("handler class at the artifact root").isRegularFile();
        assertThat(classMajorVersion(Files.newInputStream(handlerClass))).isEqualTo(JAVA_21_CLASS_MAJOR);

        // and: runtime jars in lib/, ours included and built for java21, nothing test-only or unused
        Path lib = artifacts.resolve("lib");
        List<String> jars;
        try (Stream<Path> files = Files.list(lib)) {
            jars = files.map(p -> p.getFileName().toString()).sorted().toList();
        }
        assertThat(jars).allMatch(name -> name.endsWith(".jar"), "only jars in lib/");
        assertThat(jars).anyMatch(name -> name.startsWith("cohort-sync-shared-"))
                .anyMatch(name -> name.startsWith("aws-lambda-java-core-"))
                .anyMatch(name -> name.startsWith("url-connection-client-"))
                .noneMatch(name -> name.matches(FORBIDDEN_JAR));
        Path shared = lib.resolve(jars.stream().filter(n -> n.startsWith("cohort-sync-shared-")).findFirst().orElseThrow());
        try (JarFile jar = new JarFile(shared.toFile())) {
            JarEntry someClass = jar.stream().filter(e -> e.getName().endsWith(".class")).findFirst().orElseThrow();
            assertThat(classMajorVersion(jar.getInputStream(someClass))).isEqualTo(JAVA_21_CLASS_MAJOR);
        }

        // and: the runtime's classpath (root + lib/*.jar) resolves the handler and its method signature
        List<URL> classpath = new ArrayList<>();
        classpath.add(artifacts.toUri().toURL());
        for (String jar : jars) {
            classpath.add(lib.resolve(jar).toUri().toURL());
        }
        try (URLClassLoader runtime = new URLClassLoader(classpath.toArray(URL[]::new),
                ClassLoader.getPlatformClassLoader())) {
            Class<?> type = Class.forName(className, false, runtime);
            String method = handler.substring(handler.indexOf("::") + 2);
            assertThat(Stream.of(type.getMethods()).map(Method::getName)).contains(method);
            assertThat(type.getConstructor()).isNotNull();
        }

        // report the size Lambda sees: unzipped (limit 250 MB) and as the zip sam deploy uploads
        long unzipped = sizeOf(artifacts);
        long zipped = zipSize(artifacts, work.resolve(functionId + ".zip"));
        System.out.printf("SamBuildIT: %s package %.1f MB unzipped, %.1f MB zipped, %d jars in lib/, built in %d s%n",
                functionId, unzipped / 1e6, zipped / 1e6, jars.size(), seconds);
        assertThat(unzipped).as("Lambda's unzipped package limit").isLessThan(250L * 1024 * 1024);
    }

    /** Runs make as SAM's CustomMakeBuilder does: in the scratch copy, ARTIFACTS_DIR in the environment. */
    private void runMake(Path source, String target, Path artifacts) throws Exception {
        Path log = work.resolve(target + ".log");
        ProcessBuilder make = new ProcessBuilder("make", "--makefile", source.resolve("Makefile").toString(), target)
                .directory(source.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile());
        Map<String, String> env = make.environment();
        env.put("ARTIFACTS_DIR", artifacts.toString());
        // SAM starts make from a shell, not from inside `make test`: drop the outer make's settings.
        for (String inherited : List.of("MAKEFLAGS", "MAKELEVEL", "MFLAGS", "MAKEOVERRIDES")) {
            env.remove(inherited);
        }
        // JAVA_HOME is inherited: `make test` exports the JDK scripts/find-jdk.sh chose, and the
        // Makefile under test runs the same script.
        Process process = make.start();
        if (!process.waitFor(BUILD_TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            fail("make %s did not finish in %d minutes; output:%n%s", target, BUILD_TIMEOUT_MINUTES, tail(log));
        }
        if (process.exitValue() != 0) {
            fail("make %s exited %d; output:%n%s", target, process.exitValue(), tail(log));
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

    private static int classMajorVersion(InputStream classFile) throws IOException {
        try (DataInputStream in = new DataInputStream(classFile)) {
            assertThat(in.readInt()).isEqualTo(0xCAFEBABE);
            in.readUnsignedShort(); // minor
            return in.readUnsignedShort();
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

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join(System.lineSeparator(), lines.subList(Math.max(0, lines.size() - 60), lines.size()));
    }
}
