package io.cohortsync.testkit;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;

/**
 * A function package run by the real Lambda runtime interface client (aws-lambda-java-runtime-interface-client,
 * main class {@code com.amazonaws.services.lambda.runtime.api.client.AWSLambda}, the handler string as its
 * argument) in a fresh JVM, as Lambda's java21 runtime starts it: the runtime client and its own libraries
 * on the JVM's classpath, the package (classes at the root, {@code lib/*.jar}) as the working directory,
 * from which the client loads the handler through its own class loader; the JVM options the managed runtime
 * uses, the template's through {@code JAVA_TOOL_OPTIONS}; an environment holding only what Lambda sets
 * (reserved variables, credentials) plus the function's variables. Nothing of the caller's environment
 * leaks in: no credentials, no emulator endpoint unless the variables name one.
 * <p>The client talks to {@code AWS_LAMBDA_RUNTIME_API}, a {@link RuntimeApiStandIn}; one stand-in per
 * process (one execution environment). Stopped through its own handle by {@link #close()}.
 */
public final class LambdaRuntimeProcess implements AutoCloseable {
    public static final String MAIN_CLASS = "com.amazonaws.services.lambda.runtime.api.client.AWSLambda";
    /** The runtime client's system property naming its native (JNI) library, as the managed runtime sets it. */
    static final String JNI_PROPERTY = "com.amazonaws.services.lambda.runtime.api.client.runtimeapi.NativeClient.JNI";
    private static final String RESOURCE = "lambda-runtime";

    /** {@code AWS_LAMBDA_INITIALIZATION_TYPE}: on-demand, or SnapStart's flow (restore hooks, container credentials). */
    public enum Init {
        ON_DEMAND("on-demand"), SNAP_START("snap-start");

        final String value;

        Init(String value) {
            this.value = value;
        }
    }

    /**
     * How the function gets credentials: the access-key variables (an on-demand function), or the
     * container-credentials endpoint of the stand-in ({@code AWS_CONTAINER_CREDENTIALS_FULL_URI} and
     * {@code AWS_CONTAINER_AUTHORIZATION_TOKEN}, no access-key variables), as the Java runtime does under SnapStart.
     */
    public enum Credentials { ACCESS_KEYS, CONTAINER }

    /**
     * What to run.
     *
     * @param functionName {@code AWS_LAMBDA_FUNCTION_NAME} (and the log group's name)
     * @param taskRoot     the package: what {@code sam build} left (classes at the root, {@code lib/*.jar})
     * @param variables    the function's environment variables (template.yaml's, plus emulator endpoints)
     * @param logFormat    {@code LoggingConfig.LogFormat} (TEXT or JSON), or null for TEXT
     * @param logLevel     {@code LoggingConfig.ApplicationLogLevel}, or null
     */
    public record Spec(String functionName, Path taskRoot, String handler, Map<String, String> variables,
                       int memoryMb, Init init, Credentials credentials, String logFormat, String logLevel) {
        public Spec {
            Objects.requireNonNull(functionName, "functionName");
            Objects.requireNonNull(taskRoot, "taskRoot");
            Objects.requireNonNull(handler, "handler");
            variables = Map.copyOf(variables);
            Objects.requireNonNull(init, "init");
            Objects.requireNonNull(credentials, "credentials");
        }

        /** The function as template.yaml defines it (handler, memory, logging), on-demand, with access keys. */
        public static Spec fromTemplate(CfnTemplate template, String functionId, Path taskRoot,
                                        Map<String, String> variables) {
            return new Spec(functionId, taskRoot, template.handler(functionId), variables,
                    template.memorySize(functionId), Init.ON_DEMAND, Credentials.ACCESS_KEYS,
                    template.loggingConfig(functionId, "LogFormat"),
                    template.loggingConfig(functionId, "ApplicationLogLevel"));
        }

        public Spec withVariables(Map<String, String> replaced) {
            return new Spec(functionName, taskRoot, handler, replaced, memoryMb, init, credentials, logFormat, logLevel);
        }

        public Spec withHandler(String other) {
            return new Spec(functionName, taskRoot, other, variables, memoryMb, init, credentials, logFormat, logLevel);
        }

        /** SnapStart's flavour: the restore flow and container credentials. */
        public Spec snapStart() {
            return new Spec(functionName, taskRoot, handler, variables, memoryMb, Init.SNAP_START, Credentials.CONTAINER,
                    logFormat, logLevel);
        }
    }

    private static Path runtimeJars;
    private static Path jniLibrary;

    private final Process process;
    private final long startedNanos;
    private final Path log;
    private final List<String> command;

    private LambdaRuntimeProcess(Process process, long startedNanos, Path log, List<String> command) {
        this.process = process;
        this.startedNanos = startedNanos;
        this.log = log;
        this.command = command;
    }

    /** Starts the runtime client on {@code spec}'s package against {@code api}; its output goes to {@code log}. */
    public static LambdaRuntimeProcess start(Spec spec, RuntimeApiStandIn api, Path log) {
        List<String> command = command(spec);
        ProcessBuilder pb = new ProcessBuilder(command).directory(spec.taskRoot().toFile())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        env.clear();
        env.putAll(environment(spec, api));
        try {
            Files.createDirectories(log.toAbsolutePath().getParent());
            long started = System.nanoTime();
            Process p = pb.start();
            return new LambdaRuntimeProcess(p, started, log, command);
        } catch (IOException e) {
            throw new UncheckedIOException("could not start the runtime client for " + spec.functionName(), e);
        }
    }

    /**
     * The managed java21 runtime's command line as observed from inside a function (public wrapper
     * scripts print it): heap at 85% of the memory size, serial GC, C1 only, class data sharing, IPv4,
     * org.crac routed to the runtime client's CRaC, the native client library named by a property.
     * Differences: this JDK's default CDS archive (not Lambda's), no Log4j hot-patch agent.
     */
    static List<String> command(Spec spec) {
        List<String> c = new ArrayList<>();
        c.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        c.add("-XX:MaxHeapSize=" + (long) (spec.memoryMb() * 1024L * 0.85) + "k");
        c.add("-XX:+UseSerialGC");
        c.add("-Xshare:auto");
        c.add("-XX:+TieredCompilation");
        c.add("-XX:TieredStopAtLevel=1");
        c.add("--add-opens=java.base/java.io=ALL-UNNAMED");
        c.add("-Dorg.crac.Core.Compat=com.amazonaws.services.lambda.crac");
        c.add("-Djava.net.preferIPv4Stack=true");
        c.add("-XX:+ErrorFileToStderr");
        if (Runtime.version().feature() >= 24) {
            // Newer JDKs than Lambda's 21 warn on every start when a library loads native code (the client's).
            c.add("--enable-native-access=ALL-UNNAMED");
        }
        c.add("-D" + JNI_PROPERTY + "=" + jniLibrary());
        c.add("-classpath");
        c.add(String.join(File.pathSeparator, runtimeClasspath().stream().map(Path::toString).toList()));
        c.add(MAIN_CLASS);
        c.add(spec.handler());
        return c;
    }

    /** Lambda's reserved variables, the credentials, then the function's own variables. */
    static Map<String, String> environment(Spec spec, RuntimeApiStandIn api) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("PATH", "/usr/local/bin:/usr/bin:/bin");
        env.put("LANG", "en_US.UTF-8");
        env.put("TZ", ":UTC");
        env.put("AWS_REGION", "us-east-1");
        env.put("AWS_DEFAULT_REGION", "us-east-1");
        env.put("AWS_EXECUTION_ENV", "AWS_Lambda_java21");
        env.put("AWS_LAMBDA_FUNCTION_NAME", spec.functionName());
        env.put("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", Integer.toString(spec.memoryMb()));
        env.put("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST");
        env.put("AWS_LAMBDA_INITIALIZATION_TYPE", spec.init().value);
        env.put("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/" + spec.functionName());
        env.put("AWS_LAMBDA_LOG_STREAM_NAME", "local/[$LATEST]" + Long.toHexString(System.nanoTime()));
        if (spec.logFormat() != null) {
            env.put("AWS_LAMBDA_LOG_FORMAT", spec.logFormat());
        }
        if (spec.logLevel() != null) {
            env.put("AWS_LAMBDA_LOG_LEVEL", spec.logLevel());
        }
        env.put("AWS_LAMBDA_RUNTIME_API", api.runtimeApi());
        env.put("LAMBDA_TASK_ROOT", spec.taskRoot().toAbsolutePath().toString());
        env.put("LAMBDA_RUNTIME_DIR", runtimeDirectory().toString());
        env.put("_HANDLER", spec.handler());
        if (spec.credentials() == Credentials.ACCESS_KEYS) {
            // The emulator's dummy keys (whatever the caller uses for it), as the execution role's would be.
            env.put("AWS_ACCESS_KEY_ID", System.getenv().getOrDefault("AWS_ACCESS_KEY_ID", "testing"));
            env.put("AWS_SECRET_ACCESS_KEY", System.getenv().getOrDefault("AWS_SECRET_ACCESS_KEY", "testing"));
            env.put("AWS_SESSION_TOKEN", System.getenv().getOrDefault("AWS_SESSION_TOKEN", "testing"));
        } else {
            env.put("AWS_CONTAINER_CREDENTIALS_FULL_URI", api.credentialsUri());
            env.put("AWS_CONTAINER_AUTHORIZATION_TOKEN", api.authorizationToken());
        }
        env.putAll(spec.variables());
        return env;
    }

    /** {@link System#nanoTime()} just before the process was started. */
    public long startedNanos() {
        return startedNanos;
    }

    public long pid() {
        return process.pid();
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** The exit code, waiting at most {@code wait} for the process to end; null if it is still running. */
    public Integer awaitExit(Duration wait) {
        try {
            return process.waitFor(wait.toMillis(), TimeUnit.MILLISECONDS) ? process.exitValue() : null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** Everything the process printed so far (the function's log lines and the runtime client's). */
    public String output() {
        try {
            return Files.exists(log) ? Files.readString(log) : "";
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The last {@code lines} lines of {@link #output()}, for failure messages. */
    public String outputTail(int lines) {
        List<String> all = output().lines().toList();
        return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
    }

    public List<String> command() {
        return command;
    }

    public Path log() {
        return log;
    }

    @Override
    public void close() {
        List<ProcessHandle> children = process.descendants().toList();
        process.destroy();
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        children.forEach(ProcessHandle::destroyForcibly);
    }

    // ------------------------------------------------------------------ the runtime's files

    /** The runtime client and its libraries (testkit's {@code lambda-runtime/} resources), in name order. */
    public static synchronized List<Path> runtimeClasspath() {
        try (Stream<Path> jars = Files.list(runtimeDirectory())) {
            List<Path> cp = jars.filter(p -> p.toString().endsWith(".jar")).sorted().toList();
            if (cp.stream().noneMatch(p -> p.getFileName().toString().startsWith("aws-lambda-java-runtime-interface-client-"))) {
                throw new IllegalStateException("no runtime interface client in " + runtimeDirectory()
                        + " (testkit's build copies it there)");
            }
            return cp;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Where the runtime's jars are: testkit's resource directory, or a copy of it out of testkit's jar. */
    static synchronized Path runtimeDirectory() {
        if (runtimeJars != null) {
            return runtimeJars;
        }
        URL url = LambdaRuntimeProcess.class.getResource("/" + RESOURCE);
        if (url == null) {
            throw new IllegalStateException("testkit has no " + RESOURCE + "/ resources: build testkit with Maven "
                    + "(its maven-dependency-plugin execution copies the runtime client there)");
        }
        try {
            if ("file".equals(url.getProtocol())) {
                runtimeJars = Path.of(url.toURI());
            } else {
                Path copy = temporaryDirectory("lambda-runtime-");
                try (FileSystem jar = FileSystems.newFileSystem(Path.of(LambdaRuntimeProcess.class
                        .getProtectionDomain().getCodeSource().getLocation().toURI()));
                     Stream<Path> files = Files.list(jar.getPath("/" + RESOURCE))) {
                    for (Path f : (Iterable<Path>) files::iterator) {
                        Files.copy(f, copy.resolve(f.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
                    }
                }
                runtimeJars = copy;
            }
            return runtimeJars;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The runtime client's native library for this machine, out of its jar into a directory of this JVM's
     * own. Left to itself the client copies it to the fixed path /tmp/.libaws-lambda-jni.so on every start,
     * which runtimes started side by side would overwrite under each other.
     */
    static synchronized Path jniLibrary() {
        if (jniLibrary != null) {
            return jniLibrary;
        }
        String arch = System.getProperty("os.arch").toLowerCase(Locale.ROOT);
        String name = "jni/libaws-lambda-jni.linux-" + (arch.equals("aarch64") || arch.equals("arm64") ? "aarch_64" : "x86_64")
                + ".so";
        Path ric = runtimeClasspath().stream()
                .filter(p -> p.getFileName().toString().startsWith("aws-lambda-java-runtime-interface-client-"))
                .findFirst().orElseThrow();
        try (JarFile jar = new JarFile(ric.toFile())) {
            var entry = jar.getJarEntry(name);
            if (entry == null) {
                throw new IllegalStateException(ric + " has no " + name);
            }
            Path target = temporaryDirectory("lambda-jni-").resolve(Path.of(name).getFileName().toString());
            try (InputStream in = jar.getInputStream(entry)) {
                Files.copy(in, target);
            }
            jniLibrary = target;
            return target;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Path temporaryDirectory(String prefix) throws IOException {
        Path dir = Files.createTempDirectory(prefix);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteQuietly(dir), "delete-" + prefix));
        return dir;
    }

    private static void deleteQuietly(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // a temporary directory; the OS cleans it up eventually
        }
    }
}
