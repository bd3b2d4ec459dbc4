package io.cohortsync.testkit;

import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import java.nio.file.Path;

/**
 * Starts one {@code moto_server} for the whole test run (stopped when the run ends, pass or fail),
 * unless {@code AWS_ENDPOINT_URL} already names an emulator (e.g. LocalStack), which is then used as is;
 * points the AWS SDK at it through the standard {@code aws.endpointUrl} property, and hands each test
 * method that asks for one a fresh {@link AwsStack}.
 */
public final class MotoExtension implements BeforeAllCallback, ParameterResolver {
    private static final String KEY = "moto-server";

    @Override
    public void beforeAll(ExtensionContext context) {
        server(context);
    }

    /** The run's moto server, started on first use; null when an external emulator is used. */
    public static MotoServer server(ExtensionContext context) {
        ExtensionContext.Store store = context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL);
        Holder holder = store.getOrComputeIfAbsent(KEY, k -> {
            String external = System.getenv("AWS_ENDPOINT_URL");
            if (external != null && !external.isBlank()) {
                // An emulator someone else runs (e.g. LocalStack): use it, start nothing.
                return new Holder(null);
            }
            MotoServer server = MotoServer.start(Path.of("target"));
            System.setProperty("aws.endpointUrl", server.endpoint().toString());
            return new Holder(server);
        }, Holder.class);
        return holder.server;
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext extension) {
        return parameter.getParameter().getType() == AwsStack.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext extension) {
        server(extension);
        return AwsStack.create();
    }

    /** Closed by JUnit when the root context closes: the end of the run, whatever the outcome. */
    private record Holder(MotoServer server) implements AutoCloseable {
        @Override
        public void close() {
            if (server != null) {
                System.clearProperty("aws.endpointUrl");
                server.close();
            }
        }
    }
}
