package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The stand-in's side of the Runtime API, driven by a plain HTTP client playing the runtime (RuntimeClientIT
 * drives it with the real runtime client): what a runtime receives and what it may send.
 */
class RuntimeApiStandInTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private RuntimeApiStandIn api;

    @BeforeEach
    void start() {
        api = RuntimeApiStandIn.start("fn");
    }

    @AfterEach
    void stop() {
        api.close();
        http.close();
    }

    @Test
    void next_blocksUntilAnInvocation_thenCarriesItsEventAndTheDocumentedHeaders() throws Exception {
        // given: the runtime asks before there is anything to do
        CompletableFuture<HttpResponse<String>> next = http.sendAsync(get("/2018-06-01/runtime/invocation/next"),
                HttpResponse.BodyHandlers.ofString());
        Thread.sleep(200);
        assertThat(next).isNotDone();

        // when
        long before = Instant.now().toEpochMilli();
        CompletableFuture<RuntimeApiStandIn.Outcome> outcome = api.submit(RuntimeApiStandIn.Invocation
                .of("{\"k\":1}", Duration.ofSeconds(29)).withClientContext("{\"client\":{}}").withCognitoIdentity("{\"id\":1}"));
        HttpResponse<String> event = next.get(5, TimeUnit.SECONDS);

        // then
        assertThat(event.statusCode()).isEqualTo(200);
        assertThat(event.body()).isEqualTo("{\"k\":1}");
        String id = event.headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElseThrow();
        long deadline = Long.parseLong(event.headers().firstValue("Lambda-Runtime-Deadline-Ms").orElseThrow());
        assertThat(deadline).isBetween(before + 28_000, Instant.now().toEpochMilli() + 29_000);
        assertThat(event.headers().firstValue("Lambda-Runtime-Invoked-Function-Arn"))
                .hasValue("arn:aws:lambda:us-east-1:123456789012:function:fn");
        assertThat(event.headers().firstValue("Lambda-Runtime-Trace-Id").orElseThrow()).startsWith("Root=1-");
        assertThat(event.headers().firstValue("Lambda-Runtime-Client-Context")).hasValue("{\"client\":{}}");
        assertThat(event.headers().firstValue("Lambda-Runtime-Cognito-Identity")).hasValue("{\"id\":1}");

        // and: the response completes that invocation, once
        assertThat(post("/2018-06-01/runtime/invocation/" + id + "/response", "{\"ok\":true}", null).statusCode())
                .isEqualTo(202);
        assertThat(outcome.get(5, TimeUnit.SECONDS).bodyText()).isEqualTo("{\"ok\":true}");
        assertThat(post("/2018-06-01/runtime/invocation/" + id + "/response", "{}", null).statusCode()).isEqualTo(400);
    }

    @Test
    void error_completesTheInvocationWithItsErrorType_andInitAndRestoreErrorsAreRecorded() throws Exception {
        CompletableFuture<RuntimeApiStandIn.Outcome> outcome = api.submit(RuntimeApiStandIn.Invocation.of("{}",
                Duration.ofSeconds(3)));
        String id = http.send(get("/2018-06-01/runtime/invocation/next"), HttpResponse.BodyHandlers.ofString())
                .headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElseThrow();

        assertThat(post("/2018-06-01/runtime/invocation/" + id + "/error", "{\"errorMessage\":\"boom\"}",
                "Runtime.UserException").statusCode()).isEqualTo(202);
        assertThat(post("/2018-06-01/runtime/init/error", "{\"errorMessage\":\"no\"}", "Runtime.BadFunctionCode")
                .statusCode()).isEqualTo(202);
        assertThat(http.send(get("/2018-06-01/runtime/restore/next"), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(200);
        assertThat(post("/2018-06-01/runtime/restore/error", "{}", "Runtime.AfterRestoreError").statusCode()).isEqualTo(202);

        RuntimeApiStandIn.Outcome o = outcome.get(5, TimeUnit.SECONDS);
        assertThat(o.error()).isTrue();
        assertThat(o.errorType()).isEqualTo("Runtime.UserException");
        assertThat(api.awaitInitError(Duration.ofSeconds(1)).errorType()).isEqualTo("Runtime.BadFunctionCode");
        assertThat(api.restoreNextCalls()).isEqualTo(1);
        assertThat(api.restoreErrors()).singleElement().extracting(RuntimeApiStandIn.ReportedError::errorType)
                .isEqualTo("Runtime.AfterRestoreError");
    }

    @Test
    void response_overTheSynchronousPayloadLimit_is413_andFailsTheInvocation() throws Exception {
        CompletableFuture<RuntimeApiStandIn.Outcome> outcome = api.submit(RuntimeApiStandIn.Invocation.of("{}",
                Duration.ofSeconds(3)));
        String id = http.send(get("/2018-06-01/runtime/invocation/next"), HttpResponse.BodyHandlers.ofString())
                .headers().firstValue("Lambda-Runtime-Aws-Request-Id").orElseThrow();

        assertThat(post("/2018-06-01/runtime/invocation/" + id + "/response",
                "x".repeat(RuntimeApiStandIn.MAX_RESPONSE_BYTES + 1), null).statusCode()).isEqualTo(413);
        assertThat(outcome.get(5, TimeUnit.SECONDS).error()).isTrue();
    }

    @Test
    void credentials_needTheAuthorizationToken_andLookLikeSessionCredentials() throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(api.credentialsUri())).GET();

        HttpResponse<String> without = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> wrong = http.send(request.copy().header("Authorization", "nope").build(),
                HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> right = http.send(request.copy().header("Authorization", api.authorizationToken()).build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(without.statusCode()).isEqualTo(403);
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(right.statusCode()).isEqualTo(200);
        JsonNode c = JSON.readTree(right.body());
        assertThat(c.path("AccessKeyId").asText()).startsWith("ASIA");
        assertThat(c.path("SecretAccessKey").asText()).isNotBlank();
        assertThat(c.path("Token").asText()).isNotBlank();
        assertThat(Instant.parse(c.path("Expiration").asText())).isAfter(Instant.now());
        assertThat(api.credentialRequests()).isEqualTo(1);
        assertThat(api.refusedCredentialRequests()).isEqualTo(2);
    }

    private HttpRequest get(String path) {
        return HttpRequest.newBuilder(URI.create("http://" + api.runtimeApi() + path)).GET().build();
    }

    private HttpResponse<String> post(String path, String body, String errorType) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://" + api.runtimeApi() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (errorType != null) {
            b.header("Lambda-Runtime-Function-Error-Type", errorType);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }
}
