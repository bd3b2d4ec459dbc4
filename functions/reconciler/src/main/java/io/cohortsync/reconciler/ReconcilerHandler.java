package io.cohortsync.reconciler;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.snapstart.Priming;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * SQS event (reconcile queue, {@code ReportBatchItemFailures} on) → {@link ReconcilerService} → the ids
 * of the records that must come back. Translation only.
 */
public final class ReconcilerHandler implements RequestHandler<SQSEvent, SQSBatchResponse> {
    /** When invoked without a context (a bare local call), assume the deployed timeout. */
    static final Duration NO_CONTEXT_BUDGET = Duration.ofSeconds(120);

    private final ReconcilerService service;
    /** Held here because Lambda's CRaC context holds resources weakly; null where nothing is snapshotted. */
    private final Priming priming;

    /**
     * Used by the Lambda runtime: real collaborators from the environment, built once per container, and
     * the SnapStart primer registered (it runs only if Lambda takes a snapshot; README "SnapStart").
     */
    public ReconcilerHandler() {
        this(System.getenv());
    }

    private ReconcilerHandler(Map<String, String> env) {
        this(ReconcilerFactory.fromEnvironment(env), Priming.register("reconciler", () -> ReconcilerPriming.plan(env)));
    }

    ReconcilerHandler(ReconcilerService service) {
        this(service, null);
    }

    ReconcilerHandler(ReconcilerService service, Priming priming) {
        this.service = service;
        this.priming = priming;
    }

    /** The registered SnapStart primer (null for handlers the runtime did not construct). */
    public Priming priming() {
        return priming;
    }

    /** A handler configured from the given variables instead of the process environment (the local stack). */
    public static ReconcilerHandler forEnvironment(Map<String, String> env) {
        return new ReconcilerHandler(env);
    }

    /** A handler around the given service (tools that wire their own ports, see {@link ReconcilerFactory#create}). */
    public static ReconcilerHandler of(ReconcilerService service) {
        return new ReconcilerHandler(service);
    }

    @Override
    public SQSBatchResponse handleRequest(SQSEvent event, Context context) {
        List<QueuedJob> records = event.getRecords() == null ? List.of()
                : event.getRecords().stream().map(ReconcilerHandler::record).toList();
        Duration remaining = context != null ? Duration.ofMillis(context.getRemainingTimeInMillis()) : NO_CONTEXT_BUDGET;
        List<String> failed = service.handle(records, remaining);
        return new SQSBatchResponse(failed.stream().map(SQSBatchResponse.BatchItemFailure::new).toList());
    }

    private static QueuedJob record(SQSEvent.SQSMessage m) {
        String count = m.getAttributes() == null ? null : m.getAttributes().get("ApproximateReceiveCount");
        int receives;
        try {
            receives = count == null ? 1 : Integer.parseInt(count);
        } catch (NumberFormatException e) {
            receives = 1; // only used to tell the last attempt apart in logs
        }
        return new QueuedJob(m.getMessageId(), m.getBody() == null ? "" : m.getBody(), receives);
    }
}
