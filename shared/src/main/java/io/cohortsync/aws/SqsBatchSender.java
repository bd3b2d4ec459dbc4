package io.cohortsync.aws;

import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The one way messages go to an SQS queue: SendMessageBatch calls of at most {@link #MAX_BATCH_ENTRIES}
 * entries and {@link #MAX_BATCH_BYTES} (bodies and attributes, as SQS counts them), entries SQS reports
 * failed sent again up to {@link #ENTRY_ROUNDS} rounds. Used by the delta, reconcile and dead-letter
 * queues and by the operators' {@code replay}.
 */
public final class SqsBatchSender {
    /** SendMessageBatch: at most 10 entries and 256 KiB a call. */
    public static final int MAX_BATCH_ENTRIES = 10;
    public static final int MAX_BATCH_BYTES = 262_144;
    /** Rounds for entries SQS reports failed before they count as not sent. */
    static final int ENTRY_ROUNDS = 3;

    private final SqsClient sqs;

    public SqsBatchSender(SqsClient sqs) {
        this.sqs = Objects.requireNonNull(sqs, "sqs");
    }

    /**
     * One message to send.
     *
     * @param attributes   String message attributes (name → value), empty for none
     * @param delaySeconds the message's own delay, or null for the queue's default
     */
    public record Entry(String body, Map<String, String> attributes, Integer delaySeconds) {
        public Entry {
            Objects.requireNonNull(body, "body");
            attributes = Map.copyOf(attributes);
        }

        /** A body as it is: no attributes, the queue's delay. */
        public static Entry of(String body) {
            return new Entry(body, Map.of(), null);
        }

        /** A body delayed by {@code seconds} (0 overrides a queue's default delay). */
        public static Entry delayed(String body, int seconds) {
            return new Entry(body, Map.of(), seconds);
        }

        /** Body plus attribute names, types and values, as SQS counts them toward its limits. */
        int size() {
            int size = utf8(body);
            for (Map.Entry<String, String> a : attributes.entrySet()) {
                size += utf8(a.getKey()) + "String".length() + utf8(a.getValue());
            }
            return size;
        }
    }

    /**
     * What a {@link #send} came to.
     *
     * @param sent      indexes (into the entries given) SQS confirmed
     * @param failCodes SQS's codes for the entries that kept failing, each once
     * @param error     the call that threw, which stopped the sending (whether SQS took its entries is
     *                  unknown); null when every call was answered
     */
    public record Result(Set<Integer> sent, List<String> failCodes, SdkException error) {
        public Result {
            sent = Set.copyOf(sent);
            failCodes = List.copyOf(failCodes);
        }
    }

    /** Sends every entry, batch by batch, until done or a call throws. Never throws for SQS trouble. */
    public Result send(String queueUrl, List<Entry> entries) {
        Set<Integer> sent = new LinkedHashSet<>();
        Set<String> codes = new LinkedHashSet<>();
        List<Integer> batch = new ArrayList<>();
        int bytes = 0;
        try {
            for (int i = 0; i < entries.size(); i++) {
                int size = entries.get(i).size();
                if (!batch.isEmpty() && (batch.size() == MAX_BATCH_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
                    sendBatch(queueUrl, entries, batch, sent, codes);
                    batch = new ArrayList<>();
                    bytes = 0;
                }
                batch.add(i);
                bytes += size;
            }
            if (!batch.isEmpty()) {
                sendBatch(queueUrl, entries, batch, sent, codes);
            }
        } catch (SdkException e) {
            return new Result(sent, List.copyOf(codes), e);
        }
        return new Result(sent, List.copyOf(codes), null);
    }

    /**
     * As {@link #send}, for callers that must know all went: returns only once every entry is queued.
     *
     * @param operation names the call in the error ("SendMessageBatch (DLQ)")
     * @throws DependencyUnavailableException if a call failed or entries kept failing (retryable)
     */
    public void sendAll(String queueUrl, List<Entry> entries, String operation) {
        Result result = send(queueUrl, entries);
        if (result.error() != null) {
            throw AwsErrors.unavailable("SQS", operation, result.error());
        }
        if (result.sent().size() < entries.size()) {
            throw new DependencyUnavailableException("SQS", (entries.size() - result.sent().size()) + " "
                    + operation + " entries kept failing (" + String.join(",", result.failCodes()) + ")", null);
        }
    }

    private void sendBatch(String queueUrl, List<Entry> entries, List<Integer> batch, Set<Integer> sent,
                           Set<String> codes) {
        List<SendMessageBatchRequestEntry> pending = new ArrayList<>();
        for (int i : batch) {
            pending.add(request(Integer.toString(i), entries.get(i)));
        }
        for (int round = 1; round <= ENTRY_ROUNDS && !pending.isEmpty(); round++) {
            List<SendMessageBatchRequestEntry> call = pending;
            SendMessageBatchResponse response = sqs.sendMessageBatch(b -> b.queueUrl(queueUrl).entries(call));
            Set<String> failed = new LinkedHashSet<>();
            List<BatchResultErrorEntry> errors = response.hasFailed() ? response.failed() : List.of();
            errors.forEach(f -> failed.add(f.id()));
            call.stream().filter(e -> !failed.contains(e.id())).forEach(e -> sent.add(Integer.parseInt(e.id())));
            pending = call.stream().filter(e -> failed.contains(e.id())).toList();
            if (round == ENTRY_ROUNDS) {
                errors.forEach(f -> codes.add(f.code()));
            }
        }
    }

    private static SendMessageBatchRequestEntry request(String id, Entry entry) {
        SendMessageBatchRequestEntry.Builder b = SendMessageBatchRequestEntry.builder().id(id).messageBody(entry.body());
        if (entry.delaySeconds() != null) {
            b.delaySeconds(entry.delaySeconds());
        }
        if (!entry.attributes().isEmpty()) {
            Map<String, MessageAttributeValue> attributes = new HashMap<>();
            entry.attributes().forEach((k, v) -> attributes.put(k,
                    MessageAttributeValue.builder().dataType("String").stringValue(v).build()));
            b.messageAttributes(attributes);
        }
        return b.build();
    }

    private static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
