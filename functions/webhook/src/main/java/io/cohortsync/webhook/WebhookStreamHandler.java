package io.cohortsync.webhook;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestStreamHandler;
import io.cohortsync.lambda.LambdaEvents;

import java.io.InputStream;
import java.io.OutputStream;

/**
 * The webhook's Lambda entry point (the template's {@code Handler}): the HTTP API event read and the answer written
 * with our own Jackson ({@link LambdaEvents}), so a cold start does not load the runtime's serializer and its
 * second Jackson (README "Cold start"); everything else is {@link WebhookHandler}'s.
 */
public final class WebhookStreamHandler implements RequestStreamHandler {
    private final WebhookHandler handler;

    /** Used by the Lambda runtime: {@link WebhookHandler}'s runtime constructor (environment, SnapStart primer). */
    public WebhookStreamHandler() {
        this(new WebhookHandler());
    }

    /** Around a handler built otherwise (the local stack\'s in-process functions: {@code forEnvironment}). */
    public WebhookStreamHandler(WebhookHandler handler) {
        this.handler = handler;
    }

    @Override
    public void handleRequest(InputStream input, OutputStream output, Context context) {
        LambdaEvents.writeHttpResponse(handler.handleRequest(LambdaEvents.readHttpEvent(input), context), output);
    }
}
