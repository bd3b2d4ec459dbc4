package io.cohortsync.lambda;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The functions' event reader against the Lambda runtime's own (aws-lambda-java-serialization, what a typed handler
 * gets): every sample event under {@code events/} reads the same in every field our handlers use; answers are the
 * documented shapes; an unreadable event is a clear error that never quotes the event.
 */
class LambdaEventsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path EVENTS = Path.of("..", "events");

    static Stream<Path> httpEvents() throws IOException {
        return samples("webhook-");
    }

    static Stream<Path> sqsEvents() throws IOException {
        return Stream.concat(samples("sqs-"), samples("sender-"));
    }

    private static Stream<Path> samples(String prefix) throws IOException {
        List<Path> found;
        try (Stream<Path> files = Files.list(EVENTS)) {
            found = files.filter(p -> p.getFileName().toString().startsWith(prefix)
                    && p.getFileName().toString().endsWith(".json")).sorted().toList();
        }
        assertThat(found).as("sample events %s*.json under events/", prefix).isNotEmpty();
        return found.stream();
    }

    @ParameterizedTest
    @MethodSource("httpEvents")
    void readHttpEvent_readsEverySampleAsTheRuntimeDoes(Path sample) throws IOException {
        byte[] json = Files.readAllBytes(sample);
        APIGatewayV2HTTPEvent runtime = runtime(APIGatewayV2HTTPEvent.class).fromJson(new ByteArrayInputStream(json));

        APIGatewayV2HTTPEvent ours = LambdaEvents.readHttpEvent(new ByteArrayInputStream(json));

        assertThat(ours.getBody()).isEqualTo(runtime.getBody());
        assertThat(ours.getIsBase64Encoded()).isEqualTo(runtime.getIsBase64Encoded());
        assertThat(ours.getHeaders()).isEqualTo(runtime.getHeaders());
        assertThat(ours.getQueryStringParameters()).isEqualTo(runtime.getQueryStringParameters());
        assertThat(ours.getRawPath()).isEqualTo(runtime.getRawPath());
        assertThat(ours.getRouteKey()).isEqualTo(runtime.getRouteKey());
        assertThat(ours.getRequestContext().getRequestId()).isEqualTo(runtime.getRequestContext().getRequestId());
        assertThat(ours.getRequestContext().getHttp().getMethod())
                .isEqualTo(runtime.getRequestContext().getHttp().getMethod());
        assertThat(ours.getBody()).as("the sample has a body").isNotNull();
    }

    @ParameterizedTest
    @MethodSource("sqsEvents")
    void readSqsEvent_readsEverySampleAsTheRuntimeDoes(Path sample) throws IOException {
        byte[] json = Files.readAllBytes(sample);
        SQSEvent runtime = runtime(SQSEvent.class).fromJson(new ByteArrayInputStream(json));

        SQSEvent ours = LambdaEvents.readSqsEvent(new ByteArrayInputStream(json));

        assertThat(ours.getRecords()).hasSameSizeAs(runtime.getRecords()).isNotEmpty();
        for (int i = 0; i < ours.getRecords().size(); i++) {
            SQSEvent.SQSMessage o = ours.getRecords().get(i);
            SQSEvent.SQSMessage r = runtime.getRecords().get(i);
            assertThat(o.getMessageId()).isEqualTo(r.getMessageId()).isNotBlank();
            assertThat(o.getBody()).isEqualTo(r.getBody());
            assertThat(o.getReceiptHandle()).isEqualTo(r.getReceiptHandle());
            assertThat(o.getAttributes()).isEqualTo(r.getAttributes());
            assertThat(o.getEventSourceArn()).isEqualTo(r.getEventSourceArn());
            assertThat(o.getAwsRegion()).isEqualTo(r.getAwsRegion());
        }
    }

    @Test
    void writeBatchResponse_isThePartialBatchResponseShape_andTheRuntimeReadsItBack() throws IOException {
        SQSBatchResponse response = new SQSBatchResponse(List.of(new SQSBatchResponse.BatchItemFailure("m-1"),
                new SQSBatchResponse.BatchItemFailure("m-2")));
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        LambdaEvents.writeBatchResponse(response, out);

        assertThat(JSON.readTree(out.toByteArray())).isEqualTo(JSON.readTree(
                "{\"batchItemFailures\":[{\"itemIdentifier\":\"m-1\"},{\"itemIdentifier\":\"m-2\"}]}"));
        ByteArrayOutputStream none = new ByteArrayOutputStream();
        LambdaEvents.writeBatchResponse(new SQSBatchResponse(List.of()), none);
        assertThat(none.toString(StandardCharsets.UTF_8)).isEqualTo("{\"batchItemFailures\":[]}");
    }

    @Test
    void writeHttpResponse_isThePayload2Answer_asTheRuntimeWritesIt() throws IOException {
        APIGatewayV2HTTPResponse response = APIGatewayV2HTTPResponse.builder().withStatusCode(401)
                .withHeaders(Map.of("content-type", "application/json"))
                .withBody("{\"status\":\"failure\",\"error\":\"unauthorized \\\"x\\\"\"}").build();
        ByteArrayOutputStream ours = new ByteArrayOutputStream();
        ByteArrayOutputStream runtime = new ByteArrayOutputStream();

        LambdaEvents.writeHttpResponse(response, ours);
        runtime(APIGatewayV2HTTPResponse.class).toJson(response, runtime);

        JsonNode o = JSON.readTree(ours.toByteArray());
        JsonNode r = JSON.readTree(runtime.toByteArray());
        for (String field : List.of("statusCode", "headers", "body", "isBase64Encoded")) {
            assertThat(o.get(field)).as(field).isEqualTo(r.get(field)).isNotNull();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"{\"version\":\"2.0\",\"body\":\"user@example.com", "null", "[]", "\"user@example.com\"", ""})
    void anUnreadableEvent_isAClearError_thatNeverQuotesTheEvent(String event) {
        byte[] bytes = event.getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> LambdaEvents.readHttpEvent(new ByteArrayInputStream(bytes)))
                .isInstanceOf(UnreadableEventException.class)
                .hasMessageContaining("API Gateway HTTP event")
                .hasMessageNotContaining("user@example.com");
        assertThatThrownBy(() -> LambdaEvents.readSqsEvent(new ByteArrayInputStream(bytes)))
                .isInstanceOf(UnreadableEventException.class)
                .hasMessageContaining("SQS event")
                .hasMessageNotContaining("user@example.com");
    }

    @Test
    void anSqsEventWhoseRecordsAreNoList_isUnreadable_andNoRecordsIsAnEmptyBatch() {
        assertThatThrownBy(() -> LambdaEvents.readSqsEvent(stream("{\"Records\":{\"a\":1}}")))
                .isInstanceOf(UnreadableEventException.class).hasMessageContaining("not a list");
        assertThatThrownBy(() -> LambdaEvents.readSqsEvent(stream("{\"Records\":[\"x\"]}")))
                .isInstanceOf(UnreadableEventException.class).hasMessageContaining("SQS record");
        assertThat(LambdaEvents.readSqsEvent(stream("{}")).getRecords()).isEmpty();
    }

    private static ByteArrayInputStream stream(String s) {
        return new ByteArrayInputStream(s.getBytes(StandardCharsets.UTF_8));
    }

    private static <T> PojoSerializer<T> runtime(Class<T> type) {
        return LambdaEventSerializers.serializerFor(type, LambdaEventsTest.class.getClassLoader());
    }
}
