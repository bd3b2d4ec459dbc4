package io.cohortsync.infra;

import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.SamMakeBuild;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Packages each function the way `sam build` does with BuildMethod makefile: the repo copied to a
 * scratch directory (without .git, .aws-sam, and build output, as in a fresh clone), then
 * {@code make build-<LogicalId>} run there with ARTIFACTS_DIR in the environment ({@link SamPackages}).
 * Then checks what the Lambda Java runtime will load: handler at the root, runtime jars in lib/, nothing
 * else. RuntimeClientIT runs the same packages under the real runtime client.
 */
class SamBuildIT {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));
    /** Jars that must never reach a package: unused SDK HTTP clients, test tooling, the test harness. */
    private static final String FORBIDDEN_JAR = "^(apache-client|apache5-client|netty-nio-client|httpclient5|junit-"
            + "|assertj-|jqwik|opentest4j|cohort-sync-testkit|aws-lambda-java-serialization).*";
    private static final int JAVA_21_CLASS_MAJOR = 65;

    @TempDir
    Path work;

    @Test
    void webhookPackage_loadsTheHandlerFromTheRootWithOnlyRuntimeJarsInLib() throws Exception {
        checkPackage("WebhookFunction");
    }

    @Test
    void senderPackage_loadsTheHandlerFromTheRootWithOnlyRuntimeJarsInLib() throws Exception {
        checkPackage("SenderFunction");
    }

    @Test
    void reconcilerPackage_loadsTheHandlerFromTheRootWithOnlyRuntimeJarsInLib() throws Exception {
        checkPackage("ReconcilerFunction");
    }

    private void checkPackage(String functionId) throws Exception {
        // given
        String handler = TEMPLATE.functionProperty(functionId, "Handler").asText();
        String className = handler.substring(0, handler.indexOf("::"));

        // when: built as sam build builds it (once a run for every test that needs the packages)
        SamMakeBuild.Built built = SamPackages.get(functionId);
        Path artifacts = built.root();

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
        long unzipped = SamMakeBuild.unzippedBytes(artifacts);
        long zipped = SamMakeBuild.zippedBytes(artifacts, work.resolve(functionId + ".zip"));
        System.out.printf("SamBuildIT: %s package %.1f MB unzipped, %.1f MB zipped, %d jars in lib/, %s%n",
                functionId, unzipped / 1e6, zipped / 1e6, jars.size(), built.reused()
                        ? "built before from an identical tree" : String.format("built in %.0f s", built.buildSeconds()));
        assertThat(unzipped).as("Lambda's unzipped package limit").isLessThan(250L * 1024 * 1024);
    }

    private static int classMajorVersion(InputStream classFile) throws IOException {
        try (DataInputStream in = new DataInputStream(classFile)) {
            assertThat(in.readInt()).isEqualTo(0xCAFEBABE);
            in.readUnsignedShort(); // minor
            return in.readUnsignedShort();
        }
    }
}
