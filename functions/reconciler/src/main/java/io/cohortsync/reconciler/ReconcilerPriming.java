package io.cohortsync.reconciler;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.PrimingAws;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.snapstart.EventPriming;
import io.cohortsync.snapstart.LoopbackHttp;
import io.cohortsync.snapstart.Priming;
import software.amazon.awssdk.regions.Region;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;

/**
 * What the reconciler primes before its SnapStart snapshot: one job of each kind that does chunked work (a
 * rename's re-announcement, an exit pass's count and its apply), each delivered alone as the reconcile queue's
 * event source mapping delivers it, through a throw-away {@link ReconcilerHandler} wired as
 * {@link ReconcilerFactory} wires the real one (same configuration and adapters, the real SDK clients) but on
 * {@link PrimingAws}, with a fixed clock and logs and metrics dropped. Each step checks that its job was
 * handled and reached its writes (deltas queued, checkpoint saved) on the canned table.
 */
final class ReconcilerPriming {
    /** A constant, never the time of the snapshot. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
    static final CohortRef COHORT = new CohortRef("priming-project", "priming-cohort");
    static final String SESSION = "priming-session";
    /** The canned cohort: renamed once (name version 2), its full sync completed (epoch 1) and reconciling. */
    static final long NAME_VERSION = 2;
    static final long EPOCH = 1;
    static final int MEMBERS = 200;
    private static final ObjectMapper JSON = new ObjectMapper();

    private ReconcilerPriming() {
    }

    static Priming.Plan plan(Map<String, String> env) {
        ReconcilerConfig config = ReconcilerConfig.fromEnvironment(env);
        PrimingAws aws = new PrimingAws("{}", ReconcilerPriming::answer);
        ReconcilerHandler handler = new ReconcilerHandler(ReconcilerFactory.wire(config, env,
                aws.clients(Region.of(env.getOrDefault("AWS_REGION", "us-east-1"))), CLOCK,
                new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8)));
        Instant queued = CLOCK.instant();
        ReconcileJob rename = new ReconcileJob(ReconcileJob.Kind.RENAME, COHORT, NAME_VERSION, null, 0, queued);
        return new Priming.Plan(List.of(
                EventPriming.sqs(),
                step(handler, aws, "rename", rename),
                step(handler, aws, "exit count", new ReconcileJob(ReconcileJob.Kind.EXIT_COUNT, COHORT, EPOCH, SESSION,
                        1, queued)),
                step(handler, aws, "exit apply", new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, COHORT, EPOCH, SESSION,
                        2, queued)),
                LoopbackHttp.step(false)), aws);
    }

    /** One job through the handler; the step fails if the job failed or never reached its writes. */
    private static Priming.Step step(ReconcilerHandler handler, PrimingAws aws, String name, ReconcileJob job) {
        SQSEvent event = event(ReconcileJobCodec.encode(job));
        return new Priming.Step(name, () -> {
            int putsBefore = aws.calls().getOrDefault("PutItem", 0);
            SQSBatchResponse response = handler.handleRequest(event, null);
            if (!response.getBatchItemFailures().isEmpty()) {
                throw new IllegalStateException(name + ": the job failed");
            }
            if (aws.calls().getOrDefault("PutItem", 0) == putsBefore) {
                throw new IllegalStateException(name + ": no checkpoint was saved");
            }
        });
    }

    private static SQSEvent event(String body) {
        SQSEvent.SQSMessage r = new SQSEvent.SQSMessage();
        r.setMessageId("priming");
        r.setReceiptHandle("priming");
        r.setBody(body);
        r.setAttributes(Map.of("ApproximateReceiveCount", "1",
                "SentTimestamp", Long.toString(CLOCK.millis())));
        r.setMessageAttributes(Map.of());
        r.setEventSource("aws:sqs");
        r.setEventSourceArn("arn:aws:sqs:us-east-1:000000000000:priming");
        SQSEvent event = new SQSEvent();
        event.setRecords(List.of(r));
        return event;
    }

    /**
     * The canned table: the cohort item (renamed, reconciling session {@link #SESSION}); each membership shard
     * holds {@link #MEMBERS} members announced under the old name, none listed by the session (whose id pieces
     * are empty), so the rename re-announces them all and the exit pass counts and exits them all. Everything
     * else is {@link PrimingAws}'s default: no checkpoint yet, every write and message accepted.
     */
    static JsonNode answer(String operation, JsonNode request) {
        switch (operation) {
            case "GetItem" -> {
                JsonNode key = request.path("Key");
                if (!key.path("pk").path("S").asText().equals(Keys.cohortPk(COHORT))) {
                    return null;
                }
                ObjectNode response = JSON.createObjectNode();
                ObjectNode item = response.putObject("Item");
                item.set("pk", key.path("pk"));
                item.set("sk", key.path("sk"));
                item.putObject("layout").put("N", "2");
                item.putObject("name").put("S", "Priming cohort");
                item.putObject("nv").put("N", Long.toString(NAME_VERSION));
                ObjectNode names = item.putObject("nh").putObject("M");
                names.putObject("1").put("S", "Priming cohort (old name)");
                names.putObject("2").put("S", "Priming cohort");
                item.putObject("epoch").put("N", Long.toString(EPOCH));
                item.putObject("rsession").put("S", SESSION);
                item.putObject("reconciling").put("BOOL", true);
                item.putObject("migrating").put("BOOL", false);
                return response;
            }
            case "Query" -> {
                String pk = request.path("ExpressionAttributeValues").path(":pk").path("S").asText();
                if (!pk.startsWith("M#") || pk.equals(Keys.legacyMembershipPk(COHORT))) {
                    return null;
                }
                ObjectNode response = JSON.createObjectNode();
                ArrayNode items = response.putArray("Items");
                for (int i = 0; i < MEMBERS; i++) {
                    ObjectNode item = items.addObject();
                    item.putObject("sk").put("S", String.format("member-%04d", i));
                    item.putObject("m").put("BOOL", true);
                    item.putObject("v").put("N", "1");
                    item.putObject("n").put("N", "1");
                }
                response.put("Count", MEMBERS).put("ScannedCount", MEMBERS);
                return response;
            }
            default -> {
                return null;
            }
        }
    }
}
