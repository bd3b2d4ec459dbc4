package io.cohortsync.local;

import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
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
    private final RequestHandler<SQSEvent, SQSBatchResponse> handler;
    private final int batchSize;
    private final Duration functionTimeout;
    private final Duration retryDelay;
    private final Thread thread;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong invocations = new AtomicLong();
    private final AtomicLong failedItems = new AtomicLong();
    private volatile boolean running = true;

    SqsEventSourcePoller(SqsClient sqs, String queueUrl, RequestHandler<SQSEvent, SQSBatchResponse> handler,
                         int batchSize, Duration functionTimeout, Duration retryDelay) {
        this.sqs = sqs;
        this.queueUrl = queueUrl;
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
            // Event and response go through the Lambda runtime's own serializer, as deployed.
            SQSBatchResponse response = handler.handleRequest(SqsEvents.event(queueUrl, messages),
                    LambdaContexts.withRemaining("cohort-sync-sender", functionTimeout));
            if (response == null) {
                return Set.of();
            }
            JsonNode json = JSON.readTree(SqsEvents.toJson(response));
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
