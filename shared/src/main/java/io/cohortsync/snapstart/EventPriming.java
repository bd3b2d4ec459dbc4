package io.cohortsync.snapstart;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import io.cohortsync.lambda.LambdaEvents;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/**
 * A priming step for the functions' stream entry points: a sample event of the function's trigger read and an
 * answer written by {@link LambdaEvents}, as every request is (the primers' other steps call the typed handlers).
 * The samples hold no user data; the step checks what it read back.
 */
public final class EventPriming {
    static final String SQS_EVENT = """
            {"Records":[{"messageId":"priming-0","receiptHandle":"priming-0","body":"{}","md5OfBody":"99914b932bd37a50b983c5e7c90ae93b",
            "attributes":{"ApproximateReceiveCount":"1","SentTimestamp":"1767225600000"},"messageAttributes":{},
            "eventSource":"aws:sqs","eventSourceARN":"arn:aws:sqs:us-east-1:000000000000:priming","awsRegion":"us-east-1"}]}""";
    static final String HTTP_EVENT = """
            {"version":"2.0","routeKey":"POST /mixpanel","rawPath":"/mixpanel","rawQueryString":"",
            "headers":{"content-type":"application/json","authorization":"Basic cHJpbWluZzpwcmltaW5n"},
            "requestContext":{"requestId":"priming","routeKey":"POST /mixpanel","stage":"$default",
            "http":{"method":"POST","path":"/mixpanel","protocol":"HTTP/1.1","sourceIp":"127.0.0.1","userAgent":"priming"}},
            "body":"e30=","isBase64Encoded":true}""";

    private EventPriming() {
    }

    /** An SQS event in, a batch response out (the sender, the reconciler). */
    public static Priming.Step sqs() {
        return new Priming.Step("event codec", () -> {
            SQSEvent event = LambdaEvents.readSqsEvent(input(SQS_EVENT));
            if (event.getRecords().size() != 1 || !"priming-0".equals(event.getRecords().getFirst().getMessageId())) {
                throw new IllegalStateException("the SQS sample did not read back");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            LambdaEvents.writeBatchResponse(new SQSBatchResponse(List.of(
                    new SQSBatchResponse.BatchItemFailure("priming-0"))), out);
            if (out.size() == 0) {
                throw new IllegalStateException("no batch response written");
            }
        });
    }

    /** An HTTP API event in, a response out (the webhook). */
    public static Priming.Step http() {
        return new Priming.Step("event codec", () -> {
            APIGatewayV2HTTPEvent event = LambdaEvents.readHttpEvent(input(HTTP_EVENT));
            if (!"POST".equals(event.getRequestContext().getHttp().getMethod()) || !event.getIsBase64Encoded()) {
                throw new IllegalStateException("the HTTP sample did not read back");
            }
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            LambdaEvents.writeHttpResponse(APIGatewayV2HTTPResponse.builder().withStatusCode(200)
                    .withHeaders(Map.of("content-type", "application/json")).withBody("{}").build(), out);
            if (out.size() == 0) {
                throw new IllegalStateException("no response written");
            }
        });
    }

    private static ByteArrayInputStream input(String json) {
        return new ByteArrayInputStream(json.getBytes(StandardCharsets.UTF_8));
    }
}
