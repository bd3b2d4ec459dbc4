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
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The sample events in events/ (what `sam local invoke -e` takes) fit the template and the code: read
 * with the serializer the Lambda runtime uses, they carry what the handlers expect.
 */
class EventsTest {
    private static final CfnTemplate TEMPLATE = CfnTemplate.load(Repo.path("template.yaml"));

    @Test
    void sqsDeltasEvent_carriesValidDeltaMessages_whenReadLikeTheRuntimeDoes() throws Exception {
        // given
        SQSEvent event;
        try (InputStream in = Files.newInputStream(Repo.path("events/sqs-deltas.json"))) {
            event = LambdaEventSerializers.serializerFor(SQSEvent.class, getClass().getClassLoader()).fromJson(in);
        }
        // then
        assertThat(event.getRecords()).isNotEmpty();
        for (SQSEvent.SQSMessage record : event.getRecords()) {
            assertThat(record.getEventSource()).isEqualTo("aws:sqs");
            assertThat(record.getMessageId()).isNotBlank();
            assertThat(record.getMd5OfBody()).as("md5OfBody matches the body").isEqualTo(md5(record.getBody()));
            assertThat(DeltaCodec.decode(record.getBody())).isNotEmpty();
        }
    }

    @Test
    void webhookEvents_targetTheRouteTheTemplateDeclares() throws IOException {
        // given
        JsonNode route = TEMPLATE.resource("WebhookFunction").path("Properties").path("Events").path("Mixpanel")
                .path("Properties");
        String routeKey = route.path("Method").asText() + " " + route.path("Path").asText();
        List<Path> samples;
        try (Stream<Path> files = Files.list(Repo.path("events"))) {
            samples = files.filter(p -> p.getFileName().toString().startsWith("webhook-")).sorted().toList();
        }
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

    private static String md5(String body) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(body.getBytes(StandardCharsets.UTF_8)));
    }
}
