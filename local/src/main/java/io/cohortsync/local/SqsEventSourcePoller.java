package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.SqsEvents;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Behaves like Lambda's SQS event source mapping with {@code ReportBatchItemFailures}: receives up to
 * {@code batchSize} messages (polling at least once a second), hands them to the function (the
 * sender or the reconciler) as the SQS event JSON Lambda sends, reads its {@code batchItemFailures},
 * deletes the messages that completed, and leaves the rest to reappear (SQS counts receives and redrives to the
 * DLQ after maxReceiveCount). If the function fails the invocation, the whole batch reappears, as with a
 * function error. {@code concurrency} pollers run side by side, each one like one concurrent invocation of the
 * function, each invocation with its own context counting down from {@code functionTimeout}.
 * <p>One deliberate difference: a failed message becomes visible again after {@code retryDelay}
 * rather than the queue's full visibility timeout, so local runs and tests see retries in seconds.
 * {@link #pause()} and {@link #resume()} do what disabling and enabling the event source mapping do:
 * batches being handled finish, no new ones are received meanwhile.
 */
final class SqsEventSourcePoller implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SqsClient sqs;
    private final String queueUrl;
    private final String functionName;
    private final LambdaFunction function;
    private final int batchSize;
    private final Duration functionTimeout;
    private final Duration retryDelay;
    private final List<Thread> threads = new ArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicLong invocations = new AtomicLong();
    private final AtomicLong failedItems = new AtomicLong();
    private final Object pauseLock = new Object();
    private volatile boolean running = true;
    private boolean paused;

    SqsEventSourcePoller(SqsClient sqs, String queueUrl, String functionName,
                         LambdaFunction function, int batchSize, int concurrency,
                         Duration functionTimeout, Duration retryDelay) {
        if (batchSize < 1 || batchSize > 10 || concurrency < 1) {
            throw new IllegalArgumentException("batchSize must be 1..10 and concurrency >= 1");
        }
        this.sqs = sqs;
        this.queueUrl = queueUrl;
        this.functionName = functionName;
        this.function = function;
        this.batchSize = batchSize;
        this.functionTimeout = functionTimeout;
        this.retryDelay = retryDelay;
        for (int i = 0; i < concurrency; i++) {
            Thread thread = new Thread(this::run, functionName + "-event-source-" + i);
            thread.setDaemon(true);
            threads.add(thread);
        }
        threads.forEach(Thread::start);
    }

    /** True while a batch is being handled (tests wait for the queue to be empty and this to be false). */
    boolean busy() {
        return inFlight.get() > 0;
    }

    /** Stops receiving (batches being handled finish), like disabling the event source mapping. */
    void pause() {
        synchronized (pauseLock) {
            paused = true;
        }
    }

    /** Receives again, like enabling the event source mapping. */
    void resume() {
        synchronized (pauseLock) {
            paused = false;
            pauseLock.notifyAll();
        }
    }

    /** Blocks while paused; false once closed. */
    private boolean awaitEnabled() {
        synchronized (pauseLock) {
            while (paused && running) {
                try {
                    pauseLock.wait(250);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
            return running;
        }
    }

    long invocations() {
        return invocations.get();
    }

    long failedItems() {
        return failedItems.get();
    }

    private void run() {
        while (running) {
            if (!awaitEnabled()) {
                return;
            }
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
            byte[] response = function.invoke(SqsEvents.eventJson(queueUrl, messages).getBytes(StandardCharsets.UTF_8),
                    functionTimeout);
            JsonNode json = JSON.readTree(response);
            if (json == null || json.isNull()) {
                return Set.of(); // no response: every record completed
            }
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
            // A function error names only types (LambdaFunction.FunctionError); anything else, its class.
            String error = e instanceof LambdaFunction.FunctionError ? e.getMessage() : e.getClass().getSimpleName();
            System.err.println("{\"level\":\"ERROR\",\"message\":\"local poller: " + functionName
                    + " invocation failed\",\"error\":\"" + error.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}");
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
        resume();
        for (Thread thread : threads) {
            try {
                thread.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }
}
