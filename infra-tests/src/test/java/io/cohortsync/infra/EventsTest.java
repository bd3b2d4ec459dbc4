package io.cohortsync.infra;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import com.fasterxml.jackson.databind.JsonNode;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.testkit.CfnTemplate;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample events in events/ (what `sam local invoke -e` takes) fit the template and the code: read
 * with the serializer the Lambda runtime uses, they carry what the handlers expect.
 */
class EventsTest {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    @Test
    void sqsEvents_carryValidDeltaMessages_whenReadLikeTheRuntimeDoes() throws Exception {
        // given every SQS sample (each events/*.json that is not a webhook request)
        List<Path> samples = samples(name -> !name.startsWith("webhook-"));
        assertThat(samples).extracting(p -> p.getFileName().toString())
                .contains("sqs-deltas.json", "sender-deltas.json");
        for (Path sample : samples) {
            SQSEvent event;
            try (InputStream in = Files.newInputStream(sample)) {
                event = LambdaEventSerializers.serializerFor(SQSEvent.class, getClass().getClassLoader()).fromJson(in);
            }
            // then
            assertThat(event.getRecords()).as("%s", sample.getFileName()).isNotEmpty();
            for (SQSEvent.SQSMessage record : event.getRecords()) {
                assertThat(record.getEventSource()).as("%s", sample.getFileName()).isEqualTo("aws:sqs");
                assertThat(record.getMessageId()).as("%s", sample.getFileName()).isNotBlank();
                assertThat(record.getMd5OfBody()).as("%s: md5OfBody matches the body", sample.getFileName())
                        .isEqualTo(md5(record.getBody()));
                assertThat(DeltaCodec.decode(record.getBody())).as("%s", sample.getFileName()).isNotEmpty();
            }
        }
    }

    @Test
    void webhookEvents_targetTheRouteTheTemplateDeclares() throws IOException {
        // given
        JsonNode route = TEMPLATE.resource("WebhookFunction").path("Properties").path("Events").path("Mixpanel")
                .path("Properties");
        String routeKey = route.path("Method").asText() + " " + route.path("Path").asText();
        List<Path> samples = samples(name -> name.startsWith("webhook-"));
        // then
        assertThat(samples).isNotEmpty();
        for (Path sample : samples) {
            APIGatewayV2HTTPEvent event;
            try (InputStream in = Files.newInputStream(sample)) {
                event = LambdaEventSerializers.serializerFor(APIGatewayV2HTTPEvent.class, getClass().getClassLoader())
                        .fromJson(in);
            }
            assertThat(event.getRouteKey()).as("%s", sample.getFileName()).isEqualTo(routeKey);
            assertThat(event.getRawPath()).as("%s", sample.getFileName()).isEqualTo(route.path("Path").asText());
        }
    }

    /** The sample events directly in events/ whose file name {@code matches} (events/mixpanel/ holds bodies). */
    private static List<Path> samples(Predicate<String> matches) throws IOException {
        try (Stream<Path> files = Files.list(Repo.path("events"))) {
            return files.filter(p -> p.getFileName().toString().endsWith(".json"))
                    .filter(p -> matches.test(p.getFileName().toString())).sorted().toList();
        }
    }

    private static String md5(String body) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body.getBytes(StandardCharsets.UTF_8)));
    }
}
