package io.cohortsync.domain;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The reconcile queue's message format: what is encoded decodes to the same job; anything else is poison. */
class ReconcileJobCodecTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Instant QUEUED = Instant.parse("2026-12-01T10:00:00.123456Z");
    private static final ReconcileJob EXIT = new ReconcileJob(ReconcileJob.Kind.EXIT_COUNT, COHORT, 4,
            "7f0d2c1e-sample", 3, QUEUED);

    @ParameterizedTest
    @EnumSource(ReconcileJob.Kind.class)
    void decode_returnsTheEncodedJob_forEveryKind(ReconcileJob.Kind kind) {
        // given a job of each kind, as each is queued (exit passes carry their session, the others none)
        boolean exitPass = kind == ReconcileJob.Kind.EXIT_COUNT || kind == ReconcileJob.Kind.EXIT_APPLY;
        boolean recheck = kind == ReconcileJob.Kind.RECHECK;
        List<String> ids = recheck ? idsInShard(Shards.COUNT - 1, 3) : List.of();
        ReconcileJob job = new ReconcileJob(kind, COHORT, kind == ReconcileJob.Kind.MIGRATE ? 0 : 7,
                exitPass || recheck ? "s-1" : null, kind == ReconcileJob.Kind.MIGRATE ? 0 : Shards.COUNT - 1, QUEUED,
                ids);

        // when
        ReconcileJob decoded = ReconcileJobCodec.decode(ReconcileJobCodec.encode(job));

        // then
        assertThat(decoded).isEqualTo(job);
    }

    @Test
    void decode_keepsTheConnectionAndOddCharacters_whenRoundTripped() {
        // given a non-default connection and ids that need escaping in JSON and in keys
        ReconcileJob job = new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, new CohortRef("eu-app", "p#1", "c\"2\\"),
                Long.MAX_VALUE, "sess\u00e9\uD83D\uDE00#%", 0, QUEUED);

        // when
        String body = ReconcileJobCodec.encode(job);

        // then
        assertThat(ReconcileJobCodec.decode(body)).isEqualTo(job);
        assertThat(field(body, "connection").asText()).isEqualTo("eu-app");
    }

    @Test
    void encode_writesTheDocumentedShape_andNoUserData() throws Exception {
        // when
        JsonNode json = JSON.readTree(ReconcileJobCodec.encode(EXIT));

        // then exactly the README's fields, the default connection left out
        assertThat(json.properties()).extracting(Map.Entry::getKey).containsExactly("schema", "kind",
                "projectId", "cohortId", "generation", "sessionId", "shard", "queuedAt");
        assertThat(json.path("schema").asText()).isEqualTo(ReconcileJobCodec.SCHEMA);
        assertThat(json.path("kind").asText()).isEqualTo("EXIT_COUNT");
        assertThat(json.path("generation").isIntegralNumber()).isTrue();
        assertThat(json.path("shard").asInt()).isEqualTo(3);
        assertThat(json.path("queuedAt").asText()).isEqualTo("2026-12-01T10:00:00.123456Z");
        assertThat(ReconcileJobCodec.encode(new ReconcileJob(ReconcileJob.Kind.RENAME, COHORT, 2, null, 0, QUEUED)))
                .doesNotContain("sessionId");
    }

    @Test
    void rechecks_splitTheIdsByShard_andBySize_soEveryMessageFitsSqs() {
        // given 3,000 ids of 1,024 bytes, the worst SQS could be asked to carry
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3000; i++) {
            ids.add(String.format("%04d", i) + "\u0001".repeat(1020));
        }

        // when
        List<ReconcileJob> jobs = ReconcileJob.rechecks(COHORT, 3, "s-1", ids, 200_000, QUEUED);

        // then every id is in exactly one job of its own shard, and every message is under SQS's 256 KiB
        assertThat(jobs.stream().flatMap(j -> j.ids().stream())).containsExactlyInAnyOrderElementsOf(ids);
        assertThat(jobs).allSatisfy(j -> {
            assertThat(j.ids()).allMatch(id -> Shards.of(id) == j.shard());
            assertThat(ReconcileJobCodec.encode(j).getBytes(StandardCharsets.UTF_8).length)
                    .isLessThan(256 * 1024);
            assertThat(ReconcileJobCodec.decode(ReconcileJobCodec.encode(j))).isEqualTo(j);
        });
    }

    @Test
    void recheck_refusesIdsOfAnotherShard_andOtherKindsRefuseIds() {
        String id = idsInShard(2, 1).get(0);
        assertThatThrownBy(() -> new ReconcileJob(ReconcileJob.Kind.RECHECK, COHORT, 1, "s", 3, QUEUED,
                List.of(id))).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ReconcileJob(ReconcileJob.Kind.RECHECK, COHORT, 1, "s", 2, QUEUED,
                List.of())).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ReconcileJob(ReconcileJob.Kind.RENAME, COHORT, 1, null, 2, QUEUED,
                List.of(id))).isInstanceOf(IllegalArgumentException.class);
    }

    private static List<String> idsInShard(int shard, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; ids.size() < count; i++) {
            if (Shards.of("user" + i + "@example.com") == shard) {
                ids.add("user" + i + "@example.com");
            }
        }
        return ids;
    }

    static Stream<Arguments> malformed() {
        String valid = ReconcileJobCodec.encode(EXIT);
        return Stream.of(
                Arguments.of("not JSON", "{\"schema\":"),
                Arguments.of("empty", ""),
                Arguments.of("JSON null", "null"),
                Arguments.of("an array", "[" + valid + "]"),
                Arguments.of("a string", "\"" + ReconcileJobCodec.SCHEMA + "\""),
                Arguments.of("a delta message", "{\"schema\":\"cohort-sync.deltas/1\",\"projectId\":\"1\","
                        + "\"cohortId\":\"2\",\"cohortName\":\"n\",\"observedAt\":\"2026-12-01T10:00:00Z\","
                        + "\"changes\":[]}"),
                Arguments.of("no schema", edit(valid, j -> j.remove("schema"))),
                Arguments.of("another schema version", edit(valid, j -> j.put("schema", "cohort-sync.reconcile/2"))),
                Arguments.of("no kind", edit(valid, j -> j.remove("kind"))),
                Arguments.of("unknown kind", edit(valid, j -> j.put("kind", "EXIT_EVERYONE"))),
                Arguments.of("kind in lower case", edit(valid, j -> j.put("kind", "exit_count"))),
                Arguments.of("kind not a string", edit(valid, j -> j.put("kind", 1))),
                Arguments.of("no projectId", edit(valid, j -> j.remove("projectId"))),
                Arguments.of("blank projectId", edit(valid, j -> j.put("projectId", " "))),
                Arguments.of("projectId a number", edit(valid, j -> j.put("projectId", 2195193))),
                Arguments.of("no cohortId", edit(valid, j -> j.remove("cohortId"))),
                Arguments.of("cohortId null", edit(valid, j -> j.putNull("cohortId"))),
                Arguments.of("invalid connection", edit(valid, j -> j.put("connection", "bad name"))),
                Arguments.of("connection a number", edit(valid, j -> j.put("connection", 5))),
                Arguments.of("connection an object", edit(valid, j -> j.putObject("connection"))),
                Arguments.of("no generation", edit(valid, j -> j.remove("generation"))),
                Arguments.of("generation a string", edit(valid, j -> j.put("generation", "4"))),
                Arguments.of("generation a fraction", edit(valid, j -> j.put("generation", 4.5))),
                Arguments.of("generation negative", edit(valid, j -> j.put("generation", -1))),
                Arguments.of("generation beyond a long", edit(valid, j -> j.put("generation",
                        new BigInteger("99999999999999999999")))),
                Arguments.of("no shard", edit(valid, j -> j.remove("shard"))),
                Arguments.of("shard a string", edit(valid, j -> j.put("shard", "3"))),
                Arguments.of("shard a fraction", edit(valid, j -> j.put("shard", 3.7))),
                Arguments.of("shard negative", edit(valid, j -> j.put("shard", -1))),
                Arguments.of("shard beyond the shards", edit(valid, j -> j.put("shard", Shards.COUNT))),
                Arguments.of("exit pass without a session", edit(valid, j -> j.remove("sessionId"))),
                Arguments.of("exit pass with a blank session", edit(valid, j -> j.put("sessionId", " "))),
                Arguments.of("sessionId a number", edit(valid, j -> j.put("sessionId", 7))),
                Arguments.of("sessionId an object", edit(valid, j -> j.putObject("sessionId"))),
                Arguments.of("no queuedAt", edit(valid, j -> j.remove("queuedAt"))),
                Arguments.of("queuedAt without a zone", edit(valid, j -> j.put("queuedAt", "2026-12-01T10:00:00"))),
                Arguments.of("queuedAt epoch millis", edit(valid, j -> j.put("queuedAt", 1796119413226L))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("malformed")
    void decode_throwsMalformed_forEveryShapeThatIsNotAJob(String shape, String body) {
        // when / then: poison, never another exception (the reconciler tells poison apart from failures)
        assertThatThrownBy(() -> ReconcileJobCodec.decode(body)).as(shape)
                .isExactlyInstanceOf(MalformedDeltaException.class)
                .hasMessageNotContaining(EXIT.sessionId());
    }

    @Test
    void decode_ignoresFieldsItDoesNotKnow_soANewerWriterCanAddSome() {
        // given a job message with an extra field
        String body = edit(ReconcileJobCodec.encode(EXIT), j -> j.put("priority", "high"));

        // when / then
        assertThat(ReconcileJobCodec.decode(body)).isEqualTo(EXIT);
    }

    private static String edit(String body, Consumer<ObjectNode> change) {
        try {
            ObjectNode json = (ObjectNode) JSON.readTree(body);
            change.accept(json);
            return json.toString();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode field(String body, String name) {
        try {
            return JSON.readTree(body).path(name);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }
}
