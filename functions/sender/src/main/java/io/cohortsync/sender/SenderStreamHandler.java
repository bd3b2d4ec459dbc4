package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import io.cohortsync.lambda.LambdaEvents;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * The sender's Lambda entry point (the template's {@code Handler}): the SQS event read and the batch response
 * written with our own Jackson ({@link LambdaEvents}), so a cold start does not load the runtime's serializer and
 * its second Jackson (README "Cold start"); everything else is {@link SenderHandler}'s.
 */
public final class SenderStreamHandler implements RequestStreamHandler {
    private final SenderHandler handler;

    /** Used by the Lambda runtime: {@link SenderHandler}'s runtime constructor (environment, SnapStart primer). */
    public SenderStreamHandler() {
        this(new SenderHandler());
    }

    /** Around a handler built otherwise (the local stack\'s in-process functions: {@code forEnvironment}). */
    public SenderStreamHandler(SenderHandler handler) {
        this.handler = handler;
    }

    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) {
        LambdaEvents.writeBatchResponse(handler.handleRequest(LambdaEvents.readSqsEvent(input), context), output);
    }
}
