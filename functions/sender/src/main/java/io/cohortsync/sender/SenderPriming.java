package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.PrimingAws;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.segment.PrimingSegment;
import io.cohortsync.snapstart.EventPriming;
import io.cohortsync.snapstart.LoopbackHttp;
import io.cohortsync.snapstart.Priming;
import software.amazon.awssdk.regions.Region;

import java.io.OutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the sender primes before its SnapStart snapshot: one batch of delta messages as the delta queue's event
 * source mapping delivers it, through a throw-away {@link SenderHandler} wired as {@link SenderFactory} wires the
 * real one (same configuration and adapters, the real SDK clients) but on {@link PrimingAws} and
 * {@link PrimingSegment}, with a fixed clock and logs and metrics dropped. The batch holds deltas to send
 * (enters, and a renamed cohort's re-announcements), one ahead of its commit (re-queued), one overtaken (stale) and one message
 * that is no delta (dead-lettered), so the verdicts, the identify building, the messageIds, Segment batching and
 * the request Segment would receive all run. The step checks the handler's answer and that a batch was "sent".
 */
final class SenderPriming {
    /** A constant, never the time of the snapshot. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
    static final CohortRef COHORT = new CohortRef("priming-project", "priming-cohort");
    static final int DELTAS_PER_MESSAGE = 50;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SenderPriming() {
    }

    static Priming.Plan plan(Map<String, String> env) {
        SenderConfig config = SenderConfig.fromEnvironment(env);
        PrimingAws aws = new PrimingAws("{\"writeKey\":\"priming-not-a-secret\"}", SenderPriming::answer);
        Map<URI, PrimingSegment> segment = new ConcurrentHashMap<>();
        SenderHandler handler = new SenderHandler(SenderFactory.create(config,
                aws.clients(Region.of(env.getOrDefault("AWS_REGION", "us-east-1"))),
                url -> segment.computeIfAbsent(url, PrimingSegment::new),
                new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8), CLOCK));
        SQSEvent batch = batch();
        return new Priming.Plan(List.of(EventPriming.sqs(), new Priming.Step("delta batch", () -> {
            SQSBatchResponse response = handler.handleRequest(batch, null);
            if (!response.getBatchItemFailures().isEmpty()) {
                throw new IllegalStateException(response.getBatchItemFailures().size() + " records failed");
            }
            int sent = segment.values().stream().mapToInt(PrimingSegment::requests).sum();
            if (!config.dryRun() && sent == 0) {
                throw new IllegalStateException("no Segment batch was built");
            }
        }), LoopbackHttp.step(true)), aws);
    }

    /** Ten records, as the mapping's batch size: seven of deltas to send, one ahead, one stale, one poison. */
    static SQSEvent batch() {
        Instant observed = CLOCK.instant();
        List<String> bodies = new ArrayList<>();
        for (int m = 0; m < 7; m++) {
            List<Delta> deltas = new ArrayList<>();
            for (int i = 0; i < DELTAS_PER_MESSAGE; i++) {
                String id = "user-" + m + "-" + i;
                // Odd messages are a renamed cohort's re-announcements: the old name's trait goes false too.
                deltas.add(new Delta(COHORT, "Priming cohort", id, true, 1, observed, null,
                        m % 2 == 1 ? "Priming cohort (old name)" : null, null));
            }
            bodies.addAll(DeltaCodec.encode(deltas, DeltaQueue.MAX_MESSAGE_BYTES));
        }
        // The table holds every user as a member at version 1 (answer below): version 2 is ahead of its commit,
        // an exit at version 1 was overtaken.
        bodies.addAll(DeltaCodec.encode(List.of(new Delta(COHORT, "Priming cohort", "ahead-0", true, 2, observed)),
                DeltaQueue.MAX_MESSAGE_BYTES));
        bodies.addAll(DeltaCodec.encode(List.of(new Delta(COHORT, "Priming cohort", "stale-0", false, 1, observed)),
                DeltaQueue.MAX_MESSAGE_BYTES));
        bodies.add("{\"schema\":\"not-a-delta\"}");
        List<SQSEvent.SQSMessage> records = new ArrayList<>();
        for (int i = 0; i < bodies.size(); i++) {
            SQSEvent.SQSMessage r = new SQSEvent.SQSMessage();
            r.setMessageId("priming-" + i);
            r.setReceiptHandle("priming-" + i);
            r.setBody(bodies.get(i));
            r.setAttributes(Map.of("ApproximateReceiveCount", "1",
                    "SentTimestamp", Long.toString(observed.toEpochMilli())));
            r.setMessageAttributes(Map.of());
            r.setEventSource("aws:sqs");
            r.setEventSourceArn("arn:aws:sqs:us-east-1:000000000000:priming");
            records.add(r);
        }
        SQSEvent event = new SQSEvent();
        event.setRecords(records);
        return event;
    }

    /** The canned table: every user the sender asks for is a member at version 1. */
    static JsonNode answer(String operation, JsonNode request) {
        if ("UpdateItem".equals(operation)) {
            // The history entry the counts go to is gone (expired, or never written): a path the sender takes, and
            // with it the SDK's error path (error unmarshalling, the retry decision, the modelled exception).
            return PrimingAws.conditionalCheckFailed();
        }
        if (!"BatchGetItem".equals(operation)) {
            return null;
        }
        ObjectNode response = JSON.createObjectNode();
        ObjectNode tables = response.putObject("Responses");
        request.path("RequestItems").properties().forEach(t -> {
            ArrayNode items = tables.putArray(t.getKey());
            for (JsonNode key : t.getValue().path("Keys")) {
                ObjectNode item = items.addObject();
                item.set("sk", key.path("sk"));
                item.putObject("m").put("BOOL", true);
                item.putObject("v").put("N", "1");
                item.putObject("n").put("N", "1");
            }
        });
        response.putObject("UnprocessedKeys");
        return response;
    }
}
