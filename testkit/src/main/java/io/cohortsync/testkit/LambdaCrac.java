package io.cohortsync.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The CRaC context of Lambda's Java runtime client ({@code aws-lambda-java-runtime-interface-client}'s
 * {@code com.amazonaws.services.lambda.crac}), driven as the runtime drives it on a SnapStart init: the JVM
 * runs with {@code -Dorg.crac.Core.Compat=com.amazonaws.services.lambda.crac}, so {@code org.crac} registrations
 * land in that context, and {@link #beforeCheckpoint()} is the call the runtime makes before Lambda takes the
 * snapshot (hooks in reverse order of registration, then its DNS cache clear and a GC). No snapshot is taken:
 * no CRaC-capable JVM runs here.
 * <p>Reflection only, so no module needs the runtime client to compile against this class; the runtime
 * client's jar must be on the classpath (the functions' priming tests have it at test scope). The bench's
 * cold starts and RuntimeClientIT need none of this: the real runtime client runs the hooks there
 * ({@link LambdaRuntimeProcess} with {@code AWS_LAMBDA_INITIALIZATION_TYPE=snap-start}).
 */
public final class LambdaCrac {
    public static final String COMPAT_PROPERTY = "org.crac.Core.Compat";
    public static final String COMPAT_PACKAGE = "com.amazonaws.services.lambda.crac";
    private static final String JNI_PROPERTY = "com.amazonaws.services.lambda.runtime.api.client.runtimeapi.NativeClient.JNI";

    private LambdaCrac() {
    }

    /** Whether this JVM forwards org.crac to the runtime client's context (the system property Lambda sets). */
    public static boolean active() {
        return COMPAT_PACKAGE.equals(System.getProperty(COMPAT_PROPERTY));
    }

    /** Runs every registered hook's beforeCheckpoint through the runtime client's context; rethrows what it throws. */
    public static void beforeCheckpoint() throws Exception {
        if (!active()) {
            throw new IllegalStateException("start the JVM with -D" + COMPAT_PROPERTY + "=" + COMPAT_PACKAGE
                    + " (as Lambda's Java runtime does), or org.crac registers nothing");
        }
        loadNativeLibrary();
        Class<?> core = Class.forName(COMPAT_PACKAGE + ".Core");
        Class<?> context = Class.forName(COMPAT_PACKAGE + ".Context");
        Object global = core.getMethod("getGlobalContext").invoke(null);
        try {
            context.getMethod("beforeCheckpoint", context).invoke(global, (Object) null);
        } catch (InvocationTargetException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        }
    }

    /**
     * The context clears the JVM's DNS cache through the runtime client's JNI library after the hooks. Lambda
     * names the library with a system property; here it is unpacked from the runtime client's jar to a file of
     * this JVM's own (the client's default, one shared /tmp path, races between JVMs).
     */
    private static synchronized void loadNativeLibrary() throws Exception {
        if (System.getProperty(JNI_PROPERTY) == null) {
            String arch = System.getProperty("os.arch");
            String name = "/jni/libaws-lambda-jni.linux-" + (arch.contains("aarch64") || arch.contains("arm64")
                    ? "aarch_64" : "x86_64") + ".so";
            Class<?> client = Class.forName("com.amazonaws.services.lambda.runtime.api.client.runtimeapi.JniHelper");
            Path file = Files.createTempFile("aws-lambda-jni-", ".so");
            file.toFile().deleteOnExit();
            try (InputStream in = client.getResourceAsStream(name)) {
                if (in == null) {
                    throw new IOException("the runtime client's jar has no " + name);
                }
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            }
            System.setProperty(JNI_PROPERTY, file.toString());
        }
        var load = Class.forName("com.amazonaws.services.lambda.runtime.api.client.runtimeapi.JniHelper")
                .getDeclaredMethod("load");
        load.setAccessible(true);
        load.invoke(null);
    }
}
