package io.cohortsync.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;
import io.cohortsync.domain.DeltaQueue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * The events of a cold-start launch: the first request and the warm ones after it, each doing the same work as
 * the first (not a replay of it, which would find nothing to do): the webhook's fixture for another cohort, the
 * sender's fixture for other users, the reconciler's rename job for another shard. Written under {@code work}.
 */
final class FirstRequests {
    private static final ObjectMapper JSON = new ObjectMapper();

    private FirstRequests() {
    }

    /** {@code events/webhook-add-members.json}, request {@code i} for cohort {@code <id>-<i>} (new to the table). */
    static List<Path> webhook(Path repo, Path work, int count) {
        try {
            ObjectNode fixture = (ObjectNode) JSON.readTree(repo.resolve("events/webhook-add-members.json").toFile());
            List<Path> files = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ObjectNode event = fixture.deepCopy();
                ObjectNode body = (ObjectNode) JSON.readTree(fixture.path("body").asText());
                ObjectNode parameters = (ObjectNode) body.path("parameters");
                parameters.put("mixpanel_cohort_id", parameters.path("mixpanel_cohort_id").asText() + "-" + i);
                event.put("body", body.toString());
                ((ObjectNode) event.path("requestContext")).put("requestId", "cold-start-" + i);
                files.add(write(work, "webhook-request-" + i + ".json", event));
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code events/sqs-deltas.json}, request {@code i} for its users with {@code -<i>} appended. */
    static List<Path> sender(Path repo, Path work, int count) {
        try {
            JsonNode fixture = JSON.readTree(repo.resolve("events/sqs-deltas.json").toFile());
            List<Path> files = new ArrayList<>();
            for (int i = 0; i < count; i++) {
                ObjectNode event = fixture.deepCopy();
                for (JsonNode r : event.path("Records")) {
                    List<Delta> deltas = new ArrayList<>();
                    for (Delta d : DeltaCodec.decode(r.path("body").asText())) {
                        deltas.add(new Delta(d.cohort(), d.cohortName(), d.distinctId() + "-" + i, d.member(), d.version(),
                                d.observedAt(), d.userId() == null ? null : d.userId() + "-" + i, d.previousName(),
                                d.resend(), d.extraTraits()));
                    }
                    String body = DeltaCodec.encode(deltas, DeltaQueue.MAX_MESSAGE_BYTES).getFirst();
                    ((ObjectNode) r).put("body", body);
                    ((ObjectNode) r).put("messageId", r.path("messageId").asText() + "-" + i);
                    ((ObjectNode) r).put("md5OfBody", md5(body));
                }
                files.add(write(work, "sender-request-" + i + ".json", event));
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Request {@code i}: the RENAME job of shard {@code i} of {@link Benchmark#COLD_START_COHORT}. */
    static List<Path> reconciler(Path work, int count) {
        List<Path> files = new ArrayList<>();
        for (int shard = 0; shard < count; shard++) {
            String body = ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.RENAME, Benchmark.COLD_START_COHORT,
                    2, null, shard, Instant.now().minusSeconds(1)));
            ObjectNode root = JSON.createObjectNode();
            ObjectNode r = root.putArray("Records").addObject();
            r.put("messageId", "7d0c7b7e-4b1a-4c55-9a61-0c0d0a5e00" + String.format("%02d", shard));
            r.put("receiptHandle", "AQEBcold-start-receipt-handle-" + shard);
            r.put("body", body);
            ObjectNode attributes = r.putObject("attributes");
            attributes.put("ApproximateReceiveCount", "1");
            attributes.put("SentTimestamp", Long.toString(System.currentTimeMillis()));
            r.putObject("messageAttributes");
            r.put("md5OfBody", md5(body));
            r.put("eventSource", "aws:sqs");
            r.put("eventSourceARN", "arn:aws:sqs:us-east-1:123456789012:cohort-sync-ReconcileQueue-EXAMPLE");
            r.put("awsRegion", "us-east-1");
            try {
                files.add(write(work, "reconcile-rename-job-" + shard + ".json", root));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return files;
    }

    private static Path write(Path work, String name, JsonNode content) throws IOException {
        Files.createDirectories(work);
        Path file = work.resolve(name);
        Files.writeString(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(content));
        return file;
    }

    private static String md5(String body) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
