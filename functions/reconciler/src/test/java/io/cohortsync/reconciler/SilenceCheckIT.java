package io.cohortsync.reconciler;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.amazonaws.services.lambda.runtime.events.SQSEvent;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.reconcile.SilenceCheck;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.LambdaContexts;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.Tee;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README "Cohorts that stop syncing": the hourly schedule's message through the real reconciler handler on
 * moto. It finds the regular cohorts that went silent from the registry and the cohort items alone, logs one
 * line for each, and counts them in {@code SilentCohorts}; retired, retiring and once-seen cohorts are not silent.
 */
@ExtendWith(MotoExtension.class)
class SilenceCheckIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String PROJECT = "2195193";

    @Test
    void theScheduledCheck_logsEachSilentRegularCohort_andCountsThemForTheAlarm(AwsStack stack) throws Exception {
        // given: a regular cohort silent for 4 days; one silent 2 days (under the 72 h threshold); a retired one
        // and one being retired, silent for weeks; one Mixpanel called once, 10 days ago; and one on another
        // connection, silent 5 days
        Instant now = Instant.now();
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72),
                Clock.systemUTC());
        CohortRef silent = cohort("silent");
        CohortRef recent = cohort("recent");
        CohortRef retired = cohort("retired");
        CohortRef retiring = cohort("retiring");
        CohortRef once = cohort("once");
        CohortRef other = new CohortRef("eu", PROJECT, "silent-eu");
        // ids as long as the webhook accepts (200 characters, multibyte and escaped): its key is over a sort key's limit
        CohortRef longIds = new CohortRef("\u00fc#%".repeat(66) + "p1", "\u00fc#%".repeat(66) + "c1");
        synced(stack, cohorts, silent, "Power users", now.minus(Duration.ofDays(4)), 90);
        synced(stack, cohorts, recent, "Recent", now.minus(Duration.ofDays(2)), 90);
        synced(stack, cohorts, retired, "Retired", now.minus(Duration.ofDays(20)), 90);
        CohortState r = cohorts.load(retired).orElseThrow();
        assertThat(cohorts.completeSession(retired, r, new SessionKey(retired,
                CohortState.RETIRE_SESSION_PREFIX + "x-s" + r.activity().syncs()), 0)).isTrue();
        assertThat(cohorts.finishRetirement(retired, r.epoch() + 1, r.activity().syncs(), now)).isTrue();
        synced(stack, cohorts, retiring, "Retiring", now.minus(Duration.ofDays(20)), 90);
        CohortState g = cohorts.load(retiring).orElseThrow();
        assertThat(cohorts.completeSession(retiring, g, new SessionKey(retiring,
                CohortState.RETIRE_SESSION_PREFIX + "y-s90"), 0)).isTrue();
        synced(stack, cohorts, once, "Tried once", now.minus(Duration.ofDays(10)), 1);
        synced(stack, cohorts, other, "EU users", now.minus(Duration.ofDays(5)), 12);
        synced(stack, cohorts, longIds, "Long ids", now.minus(Duration.ofDays(5)), 12);

        // when the schedule invokes the reconciler
        Map<String, String> env = new HashMap<>(stack.environment());
        env.put("SILENCE_AFTER_HOURS", "72");
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        SQSBatchResponse response;
        AwsRequestCounter.reset();
        System.setOut(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
        try {
            ReconcilerHandler handler = ReconcilerHandler.forEnvironment(env);
            response = handler.handleRequest(checkEvent(), LambdaContexts.withRemaining("reconciler",
                    Duration.ofSeconds(120)));
        } finally {
            System.setOut(original);
        }

        // then three cohorts are silent, each named in one WARN line with how long and its last call
        assertThat(response.getBatchItemFailures()).isEmpty();
        String output = captured.toString(StandardCharsets.UTF_8);
        List<JsonNode> silentLines = lines(output).stream()
                .filter(l -> l.path("message").asText().startsWith("cohort silent")).toList();
        assertThat(silentLines).extracting(l -> l.path("cohortId").asText())
                .containsExactlyInAnyOrder("silent", "silent-eu", longIds.cohortId());
        assertThat(silentLines).allSatisfy(l -> assertThat(l.path("level").asText()).isEqualTo("WARN"));
        JsonNode line = silentLines.stream().filter(l -> l.path("cohortId").asText().equals("silent")).findFirst()
                .orElseThrow();
        assertThat(line.path("projectId").asText()).isEqualTo(PROJECT);
        assertThat(line.path("cohortName").asText()).isEqualTo("Power users");
        assertThat(line.path("silentForHours").asDouble()).isBetween(95.9, 96.2);
        assertThat(line.path("lastAction").asText()).isEqualTo("members");
        assertThat(silentLines.stream().filter(l -> l.path("cohortId").asText().equals("silent-eu")).findFirst()
                .orElseThrow().path("connection").asText()).isEqualTo("eu");
        // and the metric the alarm reads, with the reconciler's base dimension only
        List<JsonNode> metrics = Emf.lines(output).stream().map(SilenceCheckIT::json)
                .filter(l -> l.has("SilentCohorts")).toList();
        assertThat(metrics).singleElement().satisfies(m -> {
            assertThat(m.path("SilentCohorts").asInt()).isEqualTo(3);
            assertThat(m.path("Function").asText()).isEqualTo("reconciler");
        });
        assertThat(lines(output)).anySatisfy(l -> {
            assertThat(l.path("message").asText()).isEqualTo("silence check done");
            assertThat(l.path("cohorts").asInt()).isEqualTo(7);
            assertThat(l.path("watched").asInt()).isEqualTo(4);
            assertThat(l.path("retired").asInt()).isEqualTo(2);
        });
        // and it read only the registry and the cohort items: one Query, one BatchGetItem, nothing written
        assertThat(AwsRequestCounter.snapshot()).containsOnlyKeys("DynamoDb.Query", "DynamoDb.BatchGetItem");
    }

    @Test
    void noCohortSilent_stillReportsZero_soTheAlarmHasData(AwsStack stack) {
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        PrintStream original = System.out;
        System.setOut(new PrintStream(new Tee(original, captured), true, StandardCharsets.UTF_8));
        try {
            ReconcilerHandler.forEnvironment(stack.environment()).handleRequest(checkEvent(), null);
        } finally {
            System.setOut(original);
        }
        assertThat(Emf.lines(captured.toString(StandardCharsets.UTF_8)).stream().map(SilenceCheckIT::json)
                .filter(l -> l.has("SilentCohorts"))).singleElement()
                .satisfies(m -> assertThat(m.path("SilentCohorts").asInt()).isZero());
    }

    /** The event the template's schedule sends: one record whose body is the check's message. */
    static SQSEvent checkEvent() {
        SQSEvent.SQSMessage m = new SQSEvent.SQSMessage();
        m.setMessageId("silence-check");
        m.setBody(SilenceCheck.MESSAGE);
        SQSEvent event = new SQSEvent();
        event.setRecords(List.of(m));
        return event;
    }

    /** A cohort as the webhook leaves it after {@code syncs} recorded calls, the last at {@code last}. */
    private static void synced(AwsStack stack, DynamoCohortStore cohorts, CohortRef ref, String name, Instant last,
                               long syncs) {
        Instant first = last.minus(Duration.ofHours(syncs));
        assertThat(cohorts.create(ref, CohortState.first(name, first, "add_members"))).isTrue();
        if (syncs > 1) {
            cohorts.recordSync(ref, cohorts.load(ref).orElseThrow(), last, "members");
            // the calls in between, as their records would have counted them
            stack.dynamo.updateItem(u -> u.tableName(stack.tableName)
                    .key(Map.of(Keys.PK, AttributeValue.fromS(Keys.cohortPk(ref)), Keys.SK, AttributeValue.fromS("META")))
                    .updateExpression("SET sc = :sc")
                    .expressionAttributeValues(Map.of(":sc", AttributeValue.fromN(Long.toString(syncs)))));
        }
        assertThat(cohorts.load(ref).orElseThrow().activity().syncs()).isEqualTo(syncs);
    }

    private static CohortRef cohort(String id) {
        return new CohortRef(PROJECT, id);
    }

    private static List<JsonNode> lines(String output) {
        return output.lines().map(String::strip).filter(l -> l.startsWith("{")).map(SilenceCheckIT::json).toList();
    }

    private static JsonNode json(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new UncheckedIOException(line, e);
        }
    }
}
