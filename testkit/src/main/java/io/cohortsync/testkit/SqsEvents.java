package io.cohortsync.testkit;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageSystemAttributeName;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Plays the part of Lambda's SQS event source mapping against the emulator: receives real messages,
 * turns them into the {@link SQSEvent} JSON Lambda delivers (read back with the runtime's own
 * serializer), and settles the batch from the handler's {@link SQSBatchResponse} (delete what
 * completed, make the failures visible again).
 */
public final class SqsEvents {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final PojoSerializer<SQSEvent> EVENT =
            LambdaEventSerializers.serializerFor(SQSEvent.class, SqsEvents.class.getClassLoader());
    private static final PojoSerializer<SQSBatchResponse> RESPONSE =
            LambdaEventSerializers.serializerFor(SQSBatchResponse.class, SqsEvents.class.getClassLoader());

    private SqsEvents() {
    }

    /** Receives up to {@code max} messages that are visible now (10 per call, as the poller does). */
    public static List<Message> receive(SqsClient sqs, String queueUrl, int max) {
        List<Message> all = new ArrayList<>();
        while (all.size() < max) {
            int want = Math.min(10, max - all.size());
            List<Message> batch = sqs.receiveMessage(b -> b.queueUrl(queueUrl).maxNumberOfMessages(want)
                    .waitTimeSeconds(0).messageSystemAttributeNames(MessageSystemAttributeName.ALL)
                    .messageAttributeNames("All")).messages();
            if (batch.isEmpty()) {
                break;
            }
            all.addAll(batch);
        }
        return all;
    }

    /** Polls until at least {@code min} messages were received or {@code timeout} passed. */
    public static List<Message> awaitMessages(SqsClient sqs, String queueUrl, int min, Duration timeout) {
        Instant deadline = Instant.now().plus(timeout);
        List<Message> all = new ArrayList<>();
        while (true) {
            all.addAll(receive(sqs, queueUrl, 10_000));
            if (all.size() >= min || Instant.now().isAfter(deadline)) {
                return all;
            }
            try {
                Thread.sleep(50); // poll interval, not a guess at how long anything takes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return all;
            }
        }
    }

    /** The Lambda event for these messages, as the event source mapping would deliver them. */
    public static SQSEvent event(String queueUrl, List<Message> messages) {
        return parse(eventJson(queueUrl, messages));
    }

    /** The same event as the JSON Lambda sends the function's runtime. */
    public static String eventJson(String queueUrl, List<Message> messages) {
        ObjectNode root = MAPPER.createObjectNode();
        ArrayNode records = root.putArray("Records");
        for (Message m : messages) {
            ObjectNode r = records.addObject();
            r.put("messageId", m.messageId());
            r.put("receiptHandle", m.receiptHandle());
            r.put("body", m.body());
            ObjectNode attributes = r.putObject("attributes");
            m.attributesAsStrings().forEach(attributes::put);
            ObjectNode messageAttributes = r.putObject("messageAttributes");
            m.messageAttributes().forEach((name, value) -> messageAttributes.putObject(name)
                    .put("stringValue", value.stringValue()).put("dataType", value.dataType())
                    .putArray("stringListValues"));
            r.put("md5OfBody", m.md5OfBody());
            r.put("eventSource", "aws:sqs");
            r.put("eventSourceARN", arn(queueUrl));
            r.put("awsRegion", "us-east-1");
        }
        return root.toString();
    }

    public static SQSEvent parse(String eventJson) {
        return EVENT.fromJson(new ByteArrayInputStream(eventJson.getBytes(StandardCharsets.UTF_8)));
    }

    /** The response exactly as the Lambda runtime serializes it for the service. */
    public static String toJson(SQSBatchResponse response) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        RESPONSE.toJson(response, out);
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * Settles a handled batch like the event source mapping: messages not listed as failures are
     * deleted; failures become visible again at once (as if their visibility timeout had expired).
     */
    public static void settle(SqsClient sqs, String queueUrl, List<Message> messages, SQSBatchResponse response) {
        Set<String> failed = response.getBatchItemFailures() == null ? Set.of()
                : response.getBatchItemFailures().stream().map(SQSBatchResponse.BatchItemFailure::getItemIdentifier)
                .collect(Collectors.toSet());
        for (Message m : messages) {
            if (failed.contains(m.messageId())) {
                sqs.changeMessageVisibility(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle())
                        .visibilityTimeout(0));
            } else {
                sqs.deleteMessage(b -> b.queueUrl(queueUrl).receiptHandle(m.receiptHandle()));
            }
        }
    }

    /** Receives, invokes, settles: one poll of the event source mapping. */
    public static SQSBatchResponse pollOnce(SqsClient sqs, String queueUrl, int batchSize,
                                            Function<SQSEvent, SQSBatchResponse> handler) {
        List<Message> messages = receive(sqs, queueUrl, batchSize);
        SQSBatchResponse response = handler.apply(event(queueUrl, messages));
        settle(sqs, queueUrl, messages, response);
        return response;
    }

    /** arn:aws:sqs:us-east-1:&lt;account&gt;:&lt;name&gt; from a queue URL (…/&lt;account&gt;/&lt;name&gt;). */
    public static String arn(String queueUrl) {
        String[] parts = URI.create(queueUrl).getPath().split("/");
        return "arn:aws:sqs:us-east-1:" + parts[parts.length - 2] + ":" + parts[parts.length - 1];
    }
}
