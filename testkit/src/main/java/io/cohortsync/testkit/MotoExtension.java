package io.cohortsync.testkit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.nio.file.Path;

/**
 * Starts one AWS emulator for the whole test run (stopped when the run ends, pass or fail): the one
 * {@code EMULATOR} chooses ({@link Emulator}: moto by default, LocalStack in Docker when
 * {@code EMULATOR=localstack}), unless {@code AWS_ENDPOINT_URL} already names an emulator, which is then used as
 * is; points the AWS SDK at it through the standard {@code aws.endpointUrl} property, and hands each test method
 * that asks for one a fresh {@link AwsStack}. When the chosen emulator cannot run (LocalStack without Docker),
 * every test that needs it fails with the same one-line reason: never a skip, never a silent fallback to moto.
 */
public final class MotoExtension implements BeforeAllCallback, ParameterResolver {
    private static final String KEY = "aws-emulator";

    @Override
    public void beforeAll(ExtensionContext context) {
        emulator(context);
    }

    /** The run's emulator, started on first use; null when an external emulator is used. */
    public static Emulator.Running emulator(ExtensionContext context) {
        ExtensionContext.Store store = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL);
        Holder holder = store.getOrComputeIfAbsent(KEY, k -> {
            String external = System.getenv("AWS_ENDPOINT_URL");
            if (external != null && !external.isBlank()) {
                // An emulator someone else runs: use it, start nothing.
                return new Holder(null, null);
            }
            try {
                Emulator.Running running = Emulator.start(System.getenv(), Path.of("target"));
                System.setProperty("aws.endpointUrl", running.endpoint().toString());
                return new Holder(running, null);
            } catch (Emulator.Unavailable e) {
                return new Holder(null, e); // remembered: the next test class fails the same way, without a new probe
            }
        }, Holder.class);
        if (holder.unavailable != null) {
            throw holder.unavailable;
        }
        return holder.running;
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext extension) {
        return parameter.getParameter().getType() == AwsStack.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext extension) {
        emulator(extension);
        return AwsStack.create();
    }

    /** Closed by JUnit when the root context closes: the end of the run, whatever the outcome. */
    private record Holder(Emulator.Running running, Emulator.Unavailable unavailable) implements AutoCloseable {
        @Override
        public void close() {
            if (running != null) {
                System.clearProperty("aws.endpointUrl");
                running.close();
            }
        }
    }
}
