package io.cohortsync.local;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;
import software.amazon.awssdk.services.sqs.model.QueueAttributeName;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Behaves like Lambda's SQS event source mapping with {@code ReportBatchItemFailures}: receives up to
 * {@code batchSize} messages (polling at least once a second), hands them to the real sender handler
 * as an {@link SQSEvent} read by the runtime's serializer, deletes the messages that completed, and
 * leaves the rest to reappear (SQS counts receives and redrives to the DLQ after maxReceiveCount). If
 * the handler throws, the whole batch reappears, as with a function error.
 * <p>One deliberate difference: a failed message becomes visible again after {@code retryDelay}
 * rather than the queue's full visibility timeout, so local runs and tests see retries in seconds.
 */
final class SqsEventSourcePoller implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SqsClient sqs;
    private final String queueUrl;
    private final String queueArn;
    private final RequestHandler<SQSEvent, SQSBatchResponse> handler;
    private final int batchSize;
    private final Duration functionTimeout;
    private final Duration retryDelay;
    private final Thread thread;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong invocations = new AtomicLong();
    private final AtomicLong failedItems = new AtomicLong();
    private volatile boolean running = true;
    private final PojoSerializer<SQSEvent> events =
            LambdaEventSerializers.serializerFor(SQSEvent.class, getClass().getClassLoader());
    private final PojoSerializer<SQSBatchResponse> responses =
            LambdaEventSerializers.serializerFor(SQSBatchResponse.class, getClass().getClassLoader());

    SqsEventSourcePoller(SqsClient sqs, String queueUrl, RequestHandler<SQSEvent, SQSBatchResponse> handler,
                         int batchSize, Duration functionTimeout, Duration retryDelay) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
        this.queueArn = sqs.getQueueAttributes(b -> b.queueUrl(queueUrl).attributeNames(QueueAttributeName.QUEUE_ARN))
                .attributes().get(QueueAttributeName.QUEUE_ARN);
        this.handler = handler;
        this.batchSize = batchSize;
        this.functionTimeout = functionTimeout;
        this.retryDelay = retryDelay;
        this.thread = new Thread(this::run, "sqs-event-source");
        thread.setDaemon(true);
        thread.start();
    }

    /** True while a batch is being handled (tests wait for the queue to be empty and this to be false). */
    boolean busy() {
        return inFlight.get() > 0;
    }

    long invocations() {
        return invocations.get();
    }

    long failedItems() {
        return failedItems.get();
    }

    private void run() {
        while (running) {
            try {
                pollOnce();
            } catch (RuntimeException e) {
                if (running) {
                    System.err.println("{\"level\":\"WARN\",\"message\":\"local poller: receive failed\",\"error\":\""
                            + e.getClass().getSimpleName() + "\"}");
                    sleep(1000);
                }
            }
        }
    }

    private void pollOnce() {
        List<Message> messages = sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(batchSize)
                .waitTimeSeconds(1)
                .messageSystemAttributeNames(MessageSystemAttributeName.ALL)
                .messageAttributeNames("All")).messages();
        if (messages.isEmpty()) {
            return;
        }
        // Received messages count as not visible on the queue until deleted, so there is no gap in
        // which both the queue and this counter look idle.
        inFlight.incrementAndGet();
        try {
            invocations.incrementAndGet();
            Set<String> failed = invoke(messages);
            failedItems.addAndGet(failed.size());
            List<DeleteMessageBatchRequestEntry> done = new ArrayList<>();
            for (Message m : messages) {
                if (failed.contains(m.messageId())) {
                    sqs.changeMessageVisibility(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle())
                            .visibilityTimeout((int) retryDelay.toSeconds()));
                } else {
                    done.add(DeleteMessageBatchRequestEntry.builder().id(Integer.toString(done.size()))
                            .receiptHandle(m.receiptHandle()).build());
                }
            }
            if (!done.isEmpty()) {
                sqs.deleteMessageBatch(b -> b.queueUrl(queueUrl).entries(done));
            }
        } finally {
            inFlight.decrementAndGet();
        }
    }

    /** @return ids of the messages that did not complete */
    private Set<String> invoke(List<Message> messages) {
        Set<String> all = new HashSet<>(messages.stream().map(Message::messageId).toList());
        try {
            SQSEvent event = events.fromJson(new ByteArrayInputStream(JSON.writeValueAsBytes(eventJson(messages))));
            SQSBatchResponse response = handler.handleRequest(event,
                    new LocalContext("cohort-sync-sender", functionTimeout, 1024));
            if (response == null) {
                return Set.of();
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            responses.toJson(response, out);
            JsonNode json = JSON.readTree(out.toByteArray());
            Set<String> failed = new HashSet<>();
            for (JsonNode f : json.path("batchItemFailures")) {
                String id = f.path("itemIdentifier").asText("");
                if (!all.contains(id)) {
                    return all; // Lambda treats an unknown or empty identifier as a failure of the whole batch
                }
                failed.add(id);
            }
            return failed;
        } catch (Exception e) {
            System.err.println("{\"level\":\"ERROR\",\"message\":\"local poller: sender invocation failed\","
                    + "\"error\":\"" + e.getClass().getSimpleName() + "\"}");
            return all;
        }
    }

    private ObjectNode eventJson(List<Message> messages) {
        ObjectNode event = JSON.createObjectNode();
        ArrayNode records = event.putArray("Records");
        for (Message m : messages) {
            ObjectNode r = records.addObject();
            r.put("messageId", m.messageId());
            r.put("receiptHandle", m.receiptHandle());
            r.put("body", m.body());
            ObjectNode attributes = r.putObject("attributes");
            for (Map.Entry<MessageSystemAttributeName, String> a : m.attributes().entrySet()) {
                attributes.put(a.getKey().toString(), a.getValue());
            }
            ObjectNode messageAttributes = r.putObject("messageAttributes");
            m.messageAttributes().forEach((name, value) -> messageAttributes.putObject(name)
                    .put("stringValue", value.stringValue()).put("dataType", value.dataType())
                    .putArray("stringListValues"));
            r.put("md5OfBody", m.md5OfBody());
            r.put("eventSource", "aws:sqs");
            r.put("eventSourceARN", queueArn);
            r.put("awsRegion", "us-east-1");
        }
        return event;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        try {
            thread.join(5000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
