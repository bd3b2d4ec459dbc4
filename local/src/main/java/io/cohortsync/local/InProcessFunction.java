package io.cohortsync.local;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import io.cohortsync.testkit.LambdaContexts;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

/**
 * The handler in this JVM: the event read and the response written with aws-lambda-java-serialization
 * (the runtime's serializer), a context counting down from the timeout. `make local`'s default: it starts
 * in a few seconds and shares this JVM's MotoIsolation.
 */
final class InProcessFunction<I, O> implements LambdaFunction {
    private final String name;
    private final RequestHandler<I, O> handler;
    private final PojoSerializer<I> events;
    private final PojoSerializer<O> responses;

    InProcessFunction(String name, RequestHandler<I, O> handler, Class<I> eventType, Class<O> responseType) {
        this.name = name;
        this.handler = handler;
        ClassLoader loader = getClass().getClassLoader();
        this.events = LambdaEventSerializers.serializerFor(eventType, loader);
        this.responses = LambdaEventSerializers.serializerFor(responseType, loader);
    }

    @Override
    public byte[] invoke(byte[] event, Duration timeout) {
        O response;
        try {
            response = handler.handleRequest(events.fromJson(new ByteArrayInputStream(event)),
                    LambdaContexts.withRemaining(name, timeout));
        } catch (RuntimeException e) {
            throw new FunctionError(e.getClass().getName());
        }
        if (response == null) {
            return "null".getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        responses.toJson(response, out);
        return out.toByteArray();
    }
}
