package io.cohortsync.local;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * `LAMBDA_RUNTIME=ric make local`'s wiring: the local stack with each function's sam-build package under
 * the real Lambda runtime client (RuntimeClientIT covers the packages themselves), one add_members request
 * through the front door, the webhook's environment, the delta queue, the sender's environment, to Segment.
 * The stack's runtime JVMs must be gone once it is closed.
 */
@ExtendWith(MotoExtension.class)
class LocalRuntimeClientIT {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void ricMode_carriesOneRequestFromTheFrontDoorToSegmentThroughThePackages() throws Exception {
        List<String> users = Exports.users("ric", 0, 3);
        try (SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
             HttpClient http = HttpClient.newHttpClient()) {
            LocalPipeline.Options options = new LocalPipeline.Options("127.0.0.1", 0, segment.baseUrl().toString(),
                    AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY,
                    "ric-" + ProcessHandle.current().pid(), null, Duration.ofSeconds(1), System.out,
                    Map.of("DELTA_DELAY_SECONDS", "0"))
                    .withRuntimeClient(RuntimeClientPackages.prepare(repositoryRoot(), System.out));
            try (LocalPipeline pipeline = LocalPipeline.start(options)) {
                assertThat(pipeline.runtime()).isEqualTo("runtime client");

                // when
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + pipeline.port()
                                + "/mixpanel")).header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME,
                                AwsStack.WEBHOOK_PASSWORD)).header("content-type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(Exports.add("ric-1", "Runtime client", users))).build(),
                        HttpResponse.BodyHandlers.ofString());

                // then: answered by the webhook's package, sent by the sender's
                assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
                assertThat(JSON.readTree(r.body()).path("status").asText()).isEqualTo("success");
                Instant deadline = Instant.now().plusSeconds(60);
                while (segment.acceptedIdentifies().size() < users.size() && Instant.now().isBefore(deadline)) {
                    Thread.sleep(100);
                }
                assertThat(segment.acceptedIdentifies()).extracting(m -> m.path("userId").asText())
                        .containsExactlyInAnyOrderElementsOf(users);
                while (!pipeline.idle() && Instant.now().isBefore(deadline)) { // the sender's answer follows Segment's
                    Thread.sleep(100);
                }
                Map<String, long[]> stats = pipeline.runtimeClientStats();
                assertThat(stats.get("WebhookFunction")[0]).as("webhook invocations under the runtime client").isEqualTo(1);
                assertThat(stats.get("SenderFunction")[0]).as("sender invocations").isPositive();
                assertThat(stats.get("ReconcilerFunction")[1]).as("reconciler environments, started at start").isEqualTo(1);
            }
            // and: closing the stack stopped every runtime JVM it started
            assertThat(ProcessHandle.current().descendants().filter(ProcessHandle::isAlive)
                    .filter(p -> p.info().commandLine().orElse("").contains(LambdaRuntimeProcess.MAIN_CLASS)))
                    .isEmpty();
        }
    }

    private static Path repositoryRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("template.yaml")) && Files.isRegularFile(p.resolve("Makefile"))) {
                return p;
            }
        }
        throw new IllegalStateException("no repository root above " + Path.of("").toAbsolutePath());
    }
}
