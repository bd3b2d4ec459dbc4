package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.send.QueuedRecord;
import io.cohortsync.snapstart.Priming;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * SQS event (delta queue, {@code ReportBatchItemFailures} on) → {@link SenderService} → the ids of the
 * records that must come back. Translation only: no rules and no SDK calls here.
 */
public final class SenderHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {
    /** When invoked without a context (a bare local call), assume the deployed timeout. */
    static final Duration NO_CONTEXT_BUDGET = Duration.ofSeconds(60);

    private final SenderService service;
    /** Held here because Lambda's CRaC context holds resources weakly; null where nothing is snapshotted. */
    private final Priming priming;

    /**
     * Used by the Lambda runtime: real collaborators from the environment, built once per container, and
     * the SnapStart primer registered (it runs only if Lambda takes a snapshot; README "SnapStart").
     */
    public SenderHandler() {
        this(System.getenv());
    }

    private SenderHandler(Map<String, String> env) {
        this(SenderFactory.fromEnvironment(env), Priming.register("sender", () -> SenderPriming.plan(env)));
    }

    SenderHandler(SenderService service) {
        this(service, null);
    }

    SenderHandler(SenderService service, Priming priming) {
        this.service = service;
        this.priming = priming;
    }

    /** The registered SnapStart primer (null for handlers the runtime did not construct). */
    public Priming priming() {
        return priming;
    }

    /**
     * A handler around the given service, for tools that drive the real handler with their own adapters
     * (wire one with the public {@link SenderFactory#create}).
     */
    public static SenderHandler of(SenderService service) {
        return new SenderHandler(service);
    }

    /** A handler configured from the given variables instead of the process environment (the local stack). */
    public static SenderHandler forEnvironment(Map<String, String> env) {
        return new SenderHandler(env);
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<QueuedRecord> records = event.getRecords() == null ? List.of()
                : event.getRecords().stream().map(SenderHandler::record).toList();
        Duration remaining = context != null ? Duration.ofMillis(context.getRemainingTimeInMillis()) : NO_CONTEXT_BUDGET;
        SenderResult result = service.handle(new SenderRequest(records, remaining));
        return new SQSBatchResponse(result.failedMessageIds().stream()
                .map(SQSBatchResponse.BatchItemFailure::new).toList());
    }

    private static QueuedRecord record(SQSEvent.SQSMessage m) {
        return new QueuedRecord(m.getMessageId(), m.getBody() == null ? "" : m.getBody(), receiveCount(m.getAttributes()));
    }

    private static int receiveCount(Map<String, String> attributes) {
        String count = attributes == null ? null : attributes.get("ApproximateReceiveCount");
        try {
            return count == null ? 1 : Integer.parseInt(count);
        } catch (NumberFormatException e) {
            return 1; // only used to tell the last attempt apart in logs
        }
    }
}
