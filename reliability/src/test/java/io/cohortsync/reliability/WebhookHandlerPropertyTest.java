package io.cohortsync.reliability;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.SyncHistory;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.InMemoryState;
import io.cohortsync.webhook.WebhookConfig;
import io.cohortsync.webhook.WebhookFactory;
import io.cohortsync.webhook.WebhookHandler;
import io.cohortsync.webhook.WebhookPorts;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * At the handler level, whatever arrives (any bytes or text as the body, base64-flagged or not, any
 * headers, credentials right, wrong or garbled), the webhook answers 200, 400, 401 or 503 in Mixpanel's
 * envelope, never a 500 (a bug Mixpanel would retry forever). The ports are in memory, so every body
 * that parses really runs through the sync; fixed seeds keep the run the same every time.
 */
class WebhookHandlerPropertyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private static final String VALID = ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD);
    private static OutputCapture capture;
    private static WebhookHandler handler;

    @BeforeContainer
    static void wire() {
        // The handler logs to stdout: capture it (thousands of lines), and scan it for leaks at the end.
        capture = OutputCapture.start(false);
        WebhookConfig config = new WebhookConfig("t", "q", "rq", "webhook-secret", Duration.ofHours(72), 6_000_000,
                Duration.ofSeconds(300), 16, Duration.ZERO);
        // Every port in memory with the adapters' semantics (testkit), so every body that parses really syncs.
        InMemoryState state = new InMemoryState();
        handler = WebhookHandler.of(WebhookFactory.create(config, new WebhookPorts(state.members, state.deltas,
                state.sessions, state.cohorts, state.jobs, state.progress, SyncHistory.DISABLED,
                id -> "{\"username\":\"" + AwsStack.WEBHOOK_USERNAME + "\",\"password\":\""
                        + AwsStack.WEBHOOK_PASSWORD + "\"}"), Clock.systemUTC()));
    }

    @AfterContainer
    static void noLeaks() {
        String output = capture.text();
        capture.close();
        assertThat(new LeakScanner().scan(output)).as("PII or secrets in the handler's output").isEmpty();
    }

    @Property(tries = 1500, seed = "20261128")
    void handle_neverAnswers500_forArbitraryBytesAndHeaders(@ForAll("anyBytes") byte[] body,
                                                              @ForAll("headers") Map<String, String> headers,
                                                              @ForAll boolean base64) {
        assertAnswered(event(body, headers, base64));
    }

    @Property(tries = 1500, seed = "20261129")
    void handle_neverAnswers500_forExportsWithArbitraryFieldValues(@ForAll("exports") String body,
                                                                     @ForAll("headers") Map<String, String> headers) {
        assertAnswered(event(body.getBytes(StandardCharsets.UTF_8), headers, false));
    }

    @Property(tries = 300, seed = "20261130")
    void handle_neverAnswers500_whenTheEventItselfIsOdd(@ForAll("oddEvents") APIGatewayV2HTTPEvent event) {
        assertAnswered(event);
    }

    private static void assertAnswered(APIGatewayV2HTTPEvent event) {
        APIGatewayV2HTTPResponse response = handler.handleRequest(event, null);
        assertThat(response.getStatusCode()).as(response.getBody()).isIn(200, 400, 401, 503);
        JsonNode body;
        try {
            body = JSON.readTree(response.getBody());
        } catch (Exception e) {
            throw new AssertionError("answer is not JSON: " + response.getBody(), e);
        }
        assertThat(body.path("action").isTextual()).isTrue();
        if (response.getStatusCode() == 200) {
            assertThat(body.path("status").asText()).isEqualTo("success");
        } else {
            assertThat(body.path("status").asText()).isEqualTo("failure");
            assertThat(body.path("error").path("code").asInt()).isEqualTo(response.getStatusCode());
            assertThat(body.path("error").path("message").asText()).isNotBlank();
        }
    }

    private static APIGatewayV2HTTPEvent event(byte[] body, Map<String, String> headers, boolean base64) {
        return APIGatewayV2HTTPEvent.builder()
                .withHeaders(headers)
                .withBody(base64 ? Base64.getEncoder().encodeToString(body) : new String(body, StandardCharsets.UTF_8))
                .withIsBase64Encoded(base64)
                .build();
    }

    @Provide
    Arbitrary<byte[]> anyBytes() {
        return Arbitraries.oneOf(
                Arbitraries.bytes().array(byte[].class).ofMaxSize(300),
                Arbitraries.strings().all().ofMaxLength(300).map(s -> s.getBytes(StandardCharsets.UTF_8)),
                Arbitraries.strings().withChars("{}[]\":,0123456789.-eEtruefalsn \\u").ofMaxLength(200)
                        .map(s -> s.getBytes(StandardCharsets.UTF_8)));
    }

    @Provide
    Arbitrary<Map<String, String>> headers() {
        Arbitrary<String> name = Arbitraries.of("authorization", "Authorization", "AUTHORIZATION", "content-type",
                "x-forwarded-for", "");
        Arbitrary<String> value = Arbitraries.oneOf(
                Arbitraries.just(VALID),
                Arbitraries.just(VALID.toLowerCase(Locale.ROOT)),
                Arbitraries.strings().all().ofMaxLength(80),
                Arbitraries.strings().all().ofMaxLength(40).map(s -> "Basic " + s),
                Arbitraries.strings().all().ofMaxLength(40).map(s ->
                        "Basic " + Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8))),
                Arbitraries.strings().ofMaxLength(20).map(p -> ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, p)));
        return Arbitraries.maps(name, value).ofMaxSize(3).map(HashMap::new);
    }

    @Provide
    Arbitrary<String> exports() {
        Arbitrary<JsonNode> values = Arbitraries.oneOf(
                Arbitraries.strings().all().ofMaxLength(30).map(F::textNode),
                Arbitraries.strings().alpha().numeric().ofMinLength(1).ofMaxLength(12).map(F::textNode),
                Arbitraries.longs().map(F::numberNode),
                Arbitraries.doubles().map(F::numberNode),
                Arbitraries.of(F.nullNode(), F.booleanNode(true), F.arrayNode(), F.objectNode()));
        Arbitrary<JsonNode> pageInfo = Arbitraries.oneOf(values, Combinators.combine(
                Arbitraries.integers().between(-2, 5), Arbitraries.integers().between(-2, 5))
                .as((total, page) -> (JsonNode) F.objectNode().put("total_pages", total).put("page_count", page)));
        Arbitrary<JsonNode> member = Arbitraries.oneOf(
                Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8).map(s -> Exports.member(s + "@example.com")),
                values.map(v -> (JsonNode) F.objectNode().set("mixpanel_distinct_id", v)),
                values);
        Arbitrary<JsonNode> members = Arbitraries.oneOf(values,
                member.list().ofMaxSize(8).map(list -> {
                    ArrayNode a = F.arrayNode();
                    list.forEach(a::add);
                    return a;
                }));
        Arbitrary<JsonNode> action = Arbitraries.oneOf(values,
                Arbitraries.of("members", "add_members", "remove_members").map(F::textNode));
        Arbitrary<JsonNode> id = Arbitraries.oneOf(values, Arbitraries.of("2195193", "c-1", "c-2").map(F::textNode));
        return Combinators.combine(action, id, id, values, id, pageInfo, members).as((a, p, c, n, s, pi, m) -> {
            ObjectNode root = F.objectNode();
            root.set("action", a);
            ObjectNode params = root.putObject("parameters");
            params.set("mixpanel_project_id", p);
            params.set("mixpanel_cohort_id", c);
            params.set("mixpanel_cohort_name", n.isNull() ? F.textNode("Cohort") : n);
            params.set("mixpanel_session_id", s);
            params.set("page_info", pi);
            params.set("members", m);
            return root.toString();
        });
    }

    @Provide
    Arbitrary<APIGatewayV2HTTPEvent> oddEvents() {
        String good = Exports.add("c-odd", "Odd", List.of("odd@example.com"));
        return Arbitraries.of(
                APIGatewayV2HTTPEvent.builder().build(),
                APIGatewayV2HTTPEvent.builder().withBody(good).build(),
                APIGatewayV2HTTPEvent.builder().withHeaders(new HashMap<>(Map.of("authorization", VALID))).build(),
                APIGatewayV2HTTPEvent.builder().withHeaders(new HashMap<>(Map.of("authorization", VALID)))
                        .withBody("%%% not base64").withIsBase64Encoded(true).build(),
                APIGatewayV2HTTPEvent.builder().withHeaders(nullValued()).withBody(good).build(),
                APIGatewayV2HTTPEvent.builder().withHeaders(new HashMap<>(Map.of("authorization", VALID)))
                        .withBody(good).withIsBase64Encoded(false).build());
    }

    private static Map<String, String> nullValued() {
        Map<String, String> h = new HashMap<>();
        h.put("authorization", null);
        h.put(null, VALID);
        return h;
    }
}
