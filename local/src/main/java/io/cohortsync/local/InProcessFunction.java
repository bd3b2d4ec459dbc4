package io.cohortsync.local;

import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import io.cohortsync.testkit.LambdaContexts;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Duration;

/**
 * The handler in this JVM: the function's Lambda entry point (the template's stream handler, which reads the event
 * and writes the answer with our own codec, as on Lambda) given the event's bytes and a context counting down from
 * the timeout. `make local`'s default: it starts in a few seconds and shares this JVM's MotoIsolation.
 */
final class InProcessFunction implements LambdaFunction {
    private final String name;
    private final RequestStreamHandler handler;

    InProcessFunction(String name, RequestStreamHandler handler) {
        this.name = name;
        this.handler = handler;
    }

    @Override
    public byte[] invoke(byte[] event, Duration timeout) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            handler.handleRequest(new ByteArrayInputStream(event), out, LambdaContexts.withRemaining(name, timeout));
        } catch (RuntimeException | IOException e) {
            throw new FunctionError(e.getClass().getName());
        }
        return out.toByteArray();
    }
}
