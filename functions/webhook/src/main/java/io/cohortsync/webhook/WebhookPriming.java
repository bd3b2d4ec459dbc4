package io.cohortsync.webhook;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.PrimingAws;
import io.cohortsync.snapstart.EventPriming;
import io.cohortsync.snapstart.LoopbackHttp;
import io.cohortsync.snapstart.Priming;
import software.amazon.awssdk.regions.Region;

import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;

/**
 * What the webhook primes before its SnapStart snapshot: the calls Mixpanel makes, through a throw-away
 * {@link WebhookHandler} wired exactly as {@link WebhookFactory} wires the real one (same configuration, same
 * adapters, the real SDK clients) but on {@link PrimingAws}, with a fixed clock and logs and metrics dropped.
 * Each step checks its answer, so a primer that stopped reaching the paths it means to warm fails (and says so
 * in the log) instead of warming less in silence.
 */
final class WebhookPriming {
    /** A constant, never the time of the snapshot. */
    static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC);
    static final String USER = "priming";
    static final String PASSWORD = "priming-not-a-secret";
    static final String PROJECT = "priming-project";
    static final String COHORT = "priming-cohort";
    /** Users the canned table holds as members (so a remove exits them); every other user is new. */
    static final String STORED = "stored-";
    static final int USERS = 100;
    private static final ObjectMapper JSON = new ObjectMapper();

    private WebhookPriming() {
    }

    static Priming.Plan plan(Map<String, String> env) {
        WebhookConfig config = WebhookConfig.fromEnvironment(env);
        PrimingAws aws = new PrimingAws("{\"username\":\"" + USER + "\",\"password\":\"" + PASSWORD + "\"}",
                WebhookPriming::answer);
        String region = env.getOrDefault("AWS_REGION", "us-east-1");
        WebhookHandler handler = new WebhookHandler(WebhookFactory.wire(config, aws.clients(Region.of(region)), CLOCK,
                new PrintStream(OutputStream.nullOutputStream(), false, StandardCharsets.UTF_8)));
        String auth = basic(USER, PASSWORD);
        APIGatewayV2HTTPEvent add = post(body("add_members", null, users("new-")), auth);
        return new Priming.Plan(List.of(
                EventPriming.http(),
                step(handler, "add_members", add, 200),
                step(handler, "remove_members", post(body("remove_members", null, users(STORED)), auth), 200),
                step(handler, "members", post(body("members", "priming-session", users("new-")), auth), 200),
                step(handler, "status", get("/mixpanel/status", Map.of("project", PROJECT, "cohort", COHORT), auth), 200),
                step(handler, "wrong password", post(body("add_members", null, users("new-")),
                        basic(USER, "wrong")), 401),
                step(handler, "not an export", post("{\"action\":\"add_members\",\"parameters\":[]}", auth), 400),
                LoopbackHttp.step(false)),
                aws);
    }

    /** One call through the handler; the step fails unless it answers {@code expected}. */
    private static Priming.Step step(WebhookHandler handler, String name, APIGatewayV2HTTPEvent event, int expected) {
        return new Priming.Step(name, () -> {
            APIGatewayV2HTTPResponse response = handler.handleRequest(event, null);
            if (response.getStatusCode() != expected) {
                throw new IllegalStateException(name + " answered " + response.getStatusCode() + ", not " + expected);
            }
        });
    }

    /**
     * The canned table: BatchGetItem finds the {@code stored-} users as members at version 1; a full sync's
     * page counter reads 1 after its page is recorded (so the one-page session completes and queues its
     * exit pass). Everything else is {@link PrimingAws}'s default: no item, every write and message accepted.
     */
    static JsonNode answer(String operation, JsonNode request) {
        switch (operation) {
            case "BatchGetItem" -> {
                ObjectNode response = JSON.createObjectNode();
                ObjectNode tables = response.putObject("Responses");
                request.path("RequestItems").properties().forEach(t -> {
                    ArrayNode items = tables.putArray(t.getKey());
                    for (JsonNode key : t.getValue().path("Keys")) {
                        if (key.path("sk").path("S").asText().startsWith(STORED)) {
                            ObjectNode item = items.addObject();
                            item.set("sk", key.path("sk"));
                            item.putObject("m").put("BOOL", true);
                            item.putObject("v").put("N", "1");
                            item.putObject("n").put("N", "1");
                        }
                    }
                });
                response.putObject("UnprocessedKeys");
                return response;
            }
            case "GetItem" -> {
                if ("PAGES".equals(request.path("Key").path("sk").path("S").asText())) {
                    ObjectNode response = JSON.createObjectNode();
                    ObjectNode item = response.putObject("Item");
                    item.set("pk", request.path("Key").path("pk"));
                    item.set("sk", request.path("Key").path("sk"));
                    item.putObject("pages").put("N", "1");
                    return response;
                }
                return null;
            }
            default -> {
                return null;
            }
        }
    }

    static List<String> users(String prefix) {
        List<String> ids = new ArrayList<>(USERS);
        for (int i = 0; i < USERS; i++) {
            ids.add(prefix + i);
        }
        return ids;
    }

    /** A Mixpanel export body: synthetic ids and properties only, nobody's data. */
    static String body(String action, String sessionId, List<String> ids) {
        ObjectNode root = JSON.createObjectNode();
        root.put("action", action);
        ObjectNode p = root.putObject("parameters");
        p.put("mixpanel_project_id", PROJECT);
        p.put("mixpanel_cohort_id", COHORT);
        p.put("mixpanel_cohort_name", "Priming cohort");
        p.put("mixpanel_cohort_description", "SnapStart priming");
        if (sessionId != null) {
            p.put("mixpanel_session_id", sessionId);
            p.putObject("page_info").put("total_pages", 1).put("page_count", 1);
        }
        ArrayNode members = p.putArray("members");
        for (String id : ids) {
            // The properties a UserIdProperty or EXTRA_TRAITS mapping usually names, so a mapped deployment
            // primes its mapping rather than skipping every member.
            members.addObject().put("mixpanel_distinct_id", id).put("$distinct_id", id)
                    .put("$email", id + "@priming.invalid").put("email", id + "@priming.invalid")
                    .put("first_name", "Priming");
        }
        return root.toString();
    }

    static APIGatewayV2HTTPEvent post(String body, String authorization) {
        return event("POST", "/mixpanel", Map.of(), body, authorization);
    }

    static APIGatewayV2HTTPEvent get(String path, Map<String, String> query, String authorization) {
        return event("GET", path, query, null, authorization);
    }

    private static APIGatewayV2HTTPEvent event(String method, String path, Map<String, String> query, String body,
                                               String authorization) {
        return APIGatewayV2HTTPEvent.builder()
                .withVersion("2.0")
                .withRouteKey(method + " " + path)
                .withRawPath(path)
                .withRawQueryString("")
                .withHeaders(Map.of("content-type", "application/json", "authorization", authorization))
                .withQueryStringParameters(query.isEmpty() ? null : query)
                .withRequestContext(APIGatewayV2HTTPEvent.RequestContext.builder()
                        .withRequestId("priming")
                        .withHttp(APIGatewayV2HTTPEvent.RequestContext.Http.builder().withMethod(method).withPath(path)
                                .withProtocol("HTTP/1.1").withSourceIp("127.0.0.1").withUserAgent("priming").build())
                        .build())
                .withBody(body)
                .withIsBase64Encoded(false)
                .build();
    }

    private static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }
}
