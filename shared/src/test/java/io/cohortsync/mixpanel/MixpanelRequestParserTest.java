package io.cohortsync.mixpanel;

import io.cohortsync.domain.CohortRef;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class MixpanelRequestParserTest {
    private final MixpanelRequestParser parser = new MixpanelRequestParser();

    private CohortExport parse(String json) {
        return parser.parse(json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void parse_readsDocumentedShape_whenFullExportPage() {
        // given the spec's example body
        String body = """
                {"action":"members","parameters":{"mixpanel_project_id":"2195193","mixpanel_cohort_id":"1457721",
                 "mixpanel_cohort_name":"Power users (30d)","mixpanel_cohort_description":"3+ sessions a week",
                 "mixpanel_session_id":"7f0d","page_info":{"total_pages":3,"page_count":1},
                 "members":[{"mixpanel_distinct_id":"u-1001","email":"ada@example.com","first_name":"Ada",
                 "last_name":"L","phone_number":"555-0100"}]}}""";
        // when
        CohortExport export = parse(body);
        // then
        assertThat(export.action()).isEqualTo(Action.MEMBERS);
        assertThat(export.cohort().projectId()).isEqualTo("2195193");
        assertThat(export.cohort().cohortId()).isEqualTo("1457721");
        assertThat(export.cohortName()).isEqualTo("Power users (30d)");
        assertThat(export.sessionId()).isEqualTo("7f0d");
        assertThat(export.page()).isEqualTo(1);
        assertThat(export.totalPages()).isEqualTo(3);
        assertThat(export.distinctIds()).containsExactly("u-1001");
        assertThat(export.membersReceived()).isEqualTo(1);
        assertThat(export.skipped()).isEmpty();
    }

    @Test
    void parse_normalisesNumericIdsToStrings_whenIdsAreNumbers() {
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":2195193,"mixpanel_cohort_id":1457721.0,
                 "mixpanel_cohort_name":"N","mixpanel_session_id":42,
                 "members":[{"mixpanel_distinct_id":12345678901234567890},{"$distinct_id":7}]}}""");
        assertThat(export.cohort().projectId()).isEqualTo("2195193");
        assertThat(export.cohort().cohortId()).isEqualTo("1457721");
        assertThat(export.sessionId()).isEqualTo("42");
        assertThat(export.distinctIds()).containsExactly("12345678901234567890", "7");
    }

    @Test
    void parse_acceptsMissingOptionalParts_whenDiffCallIsEmpty() {
        CohortExport export = parse("""
                {"action":"remove_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N"}}""");
        assertThat(export.distinctIds()).isEmpty();
        assertThat(export.session()).isEmpty();
        assertThat(export.page()).isEqualTo(1);
        assertThat(export.totalPages()).isEqualTo(1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"", ",\"mixpanel_project_id\":null", ",\"mixpanel_project_id\":\"\"", ",\"mixpanel_project_id\":\"  \""})
    void parse_keysTheCohortUnderThePlaceholderProject_whenTheProjectIdIsMissingOrEmpty(String project) {
        // as public receivers' fixtures send it: no project id, no session id
        CohortExport export = parse("""
                {"action":"members","parameters":{"mixpanel_cohort_id":"mp-42","mixpanel_cohort_name":"Power users"%s,
                 "members":[{"mixpanel_distinct_id":"user-1"},{"mixpanel_distinct_id":"user-2"}]}}""".formatted(project));
        assertThat(export.cohort()).isEqualTo(new CohortRef("unknown-project", "mp-42"));
        assertThat(CohortRef.UNKNOWN_PROJECT).isEqualTo("unknown-project").doesNotContainPattern("[0-9]");
        assertThat(export.notes().projectIdMissing()).isTrue();
        assertThat(export.distinctIds()).containsExactly("user-1", "user-2");
        // and a call that names its project is not flagged
        assertThat(parse("""
                {"action":"members","parameters":{"mixpanel_project_id":7,"mixpanel_cohort_id":"mp-42",
                 "mixpanel_cohort_name":"Power users"}}""").notes().projectIdMissing()).isFalse();
    }

    @Test
    void parse_readsMembersFromTheTopLevel_whenParametersHoldNone() {
        // as a capture of a test event shows it: members next to parameters, not inside
        CohortExport export = parse("""
                {"action":"members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","mixpanel_integration_id":"0"},
                 "members":[{"mixpanel_distinct_id":"top-1","$distinct_id":"top-1"},{"mixpanel_distinct_id":"top-2"}]}""");
        assertThat(export.distinctIds()).containsExactly("top-1", "top-2");
        assertThat(export.notes().membersFrom()).isEqualTo(ExportNotes.MembersSource.TOP_LEVEL);
        // a null in parameters is no list: the top-level one is used
        assertThat(parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":null},"members":[{"mixpanel_distinct_id":"top-1"}]}""")
                .distinctIds()).containsExactly("top-1");
    }

    @Test
    void parse_prefersParametersMembers_whenBothPlacesCarryAList() {
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":[{"mixpanel_distinct_id":"in-params"}]},
                 "members":[{"mixpanel_distinct_id":"at-top"},{"mixpanel_distinct_id":"at-top-2"}]}""");
        assertThat(export.distinctIds()).containsExactly("in-params");
        assertThat(export.membersReceived()).isEqualTo(1);
        assertThat(export.notes().membersFrom()).isEqualTo(ExportNotes.MembersSource.BOTH_PARAMETERS_USED);
        // and a broken list in parameters is not papered over by the top-level one: parameters win, named
        assertThatThrownBy(() -> parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":{"x":1}},"members":[]}"""))
                .isInstanceOf(InvalidExportException.class).hasMessageContaining("'parameters.members'");
        assertThatThrownBy(() -> parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N"},"members":"everyone"}"""))
                .isInstanceOf(InvalidExportException.class).hasMessageContaining("'members' must be an array");
        // and the documented shape, or none at all, says so
        assertThat(parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":[]}}""").notes().membersFrom())
                .isEqualTo(ExportNotes.MembersSource.PARAMETERS);
        assertThat(parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N"}}""").notes().membersFrom()).isEqualTo(ExportNotes.MembersSource.NONE);
    }

    @Test
    void parse_keepsTheIntegrationId_andNamesTheUnknownFields_neverTheirValues() {
        // as captures of real traffic carry it, plus fields nobody documents at both levels
        CohortExport export = parse("""
                {"action":"members","trace":"ada@example.com","zz_debug":{"who":"ada@example.com"},"bad name!":1,
                 "parameters":{"mixpanel_project_id":"2201475","mixpanel_integration_id":"0","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","mixpanel_session_id":"9b5b","owner":"ada@example.com","añadido":true,
                 "members":[{"mixpanel_distinct_id":"u1","Fecha de registro":"2025-01-31"}]}}""");
        assertThat(export.notes().integrationId()).isEqualTo("0");
        assertThat(export.notes().unknownFields())
                .containsExactly("parameters.owner", "trace", "zz_debug", "(+2 others)")
                .noneMatch(f -> f.contains("ada@"));
        assertThat(export.distinctIds()).containsExactly("u1");
    }

    @ParameterizedTest
    @ValueSource(strings = {"7", "\"\"", "null", "true", "{\"id\":1}", "[0]", "1.5", "\"a\\u0001b\""})
    void parse_neverRefusesACall_forItsIntegrationId(String value) {
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","mixpanel_integration_id":%s}}""".formatted(value));
        assertThat(export.notes().integrationId()).isEqualTo(value.equals("7") ? "7" : null);
        assertThat(export.notes().unknownFields()).isEmpty();
    }

    @Test
    void parse_recordsAtMostTwentyUnknownFieldNames_andCountsTheRest() {
        StringBuilder extra = new StringBuilder();
        for (int i = 0; i < 30; i++) {
            extra.append(",\"f").append(String.format("%02d", i)).append("\":").append(i);
        }
        CohortExport export = parse("""
                {"action":"add_members"%s,"parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N"}}""".formatted(extra));
        assertThat(export.notes().unknownFields()).hasSize(21).startsWith("f00", "f01").endsWith("f19", "(+10 others)");
    }

    @Test
    void parse_ignoresBrokenPageInfo_whenActionIsADiff() {
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","page_info":{"total_pages":"many"},"members":[]}}""");
        assertThat(export.totalPages()).isEqualTo(1);
    }

    @Test
    void parse_skipsAndCountsUnusableMembers_whenSomeLackUsableIds() {
        String tooLong = "x".repeat(1025);
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"Ünïcødé cohort ✓","members":[
                   {"mixpanel_distinct_id":"ok-1","Favourite colour":"blue","$email":"a@b.c"},
                   {"email":"no-id@example.com"},
                   {"mixpanel_distinct_id":""},
                   {"mixpanel_distinct_id":"   "},
                   {"mixpanel_distinct_id":{"nested":true}},
                   {"mixpanel_distinct_id":"%s"},
                   {"mixpanel_distinct_id":"bad\\u0001id"},
                   {"mixpanel_distinct_id":"\\ud800"},
                   "not an object",
                   {"mixpanel_distinct_id":"ok-1"},
                   {"mixpanel_distinct_id":"","$distinct_id":"fallback-2"},
                   {"mixpanel_distinct_id":"用户-3"}
                 ]}}""".formatted(tooLong));
        assertThat(export.distinctIds()).containsExactly("ok-1", "fallback-2", "用户-3");
        assertThat(export.membersReceived()).isEqualTo(12);
        assertThat(export.skipped()).containsEntry(SkipReason.MISSING_ID, 1)
                .containsEntry(SkipReason.EMPTY_ID, 2)
                .containsEntry(SkipReason.INVALID_ID_TYPE, 1)
                .containsEntry(SkipReason.ID_TOO_LONG, 1)
                .containsEntry(SkipReason.UNSTORABLE_ID, 2)
                .containsEntry(SkipReason.NOT_AN_OBJECT, 1)
                .containsEntry(SkipReason.DUPLICATE, 1);
        assertThat(export.skippedCount()).isEqualTo(9);
    }

    @Test
    void parse_skipsMember_whenItsIdHoldsACharacterSqsRefuses() {
        // SQS refuses U+FFFE and U+FFFF in a message body, and deltas carry ids verbatim: such an id
        // would fail every enqueue of its page (a 503 forever) instead of being skipped.
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":[{"mixpanel_distinct_id":"a\\uffff"},
                 {"mixpanel_distinct_id":"b\\ufffe"},{"mixpanel_distinct_id":"ok\\ufffd"}]}}""");
        assertThat(export.distinctIds()).containsExactly("ok\ufffd");
        assertThat(export.skipped()).containsEntry(SkipReason.UNSTORABLE_ID, 2);
    }

    @ParameterizedTest
    @ValueSource(strings = {"mixpanel_cohort_name", "mixpanel_cohort_id", "mixpanel_project_id"})
    void parse_rejectsExport_whenANameOrIdHoldsACharacterSqsRefuses(String field) {
        String body = """
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N"}}""".replace("\"" + field + "\":\"", "\"" + field + "\":\"x\\uffff");
        assertThatThrownBy(() -> parse(body)).isInstanceOf(InvalidExportException.class)
                .hasMessageContaining(field);
    }

    @Test
    void parse_acceptsIdOfExactly1024Bytes_whenAtTheKeyLimit() {
        String id = "é".repeat(512); // 2 bytes each
        CohortExport export = parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"N","members":[{"mixpanel_distinct_id":"%s"}]}}""".formatted(id));
        assertThat(export.distinctIds()).containsExactly(id);
    }

    @ParameterizedTest
    @ValueSource(strings = {
            "", "   ", "not json", "[1,2]", "\"members\"", "{\"action\":\"members\"", "{} trailing",
            "{\"parameters\":{}}",
            "{\"action\":7,\"parameters\":{}}",
            "{\"action\":\"delete_everything\",\"parameters\":{}}",
            "{\"action\":\"members\"}",
            "{\"action\":\"members\",\"parameters\":[]}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_name\":\"n\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":{},\"mixpanel_cohort_name\":\"n\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":1.5,\"mixpanel_cohort_name\":\"n\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"a\\nb\"}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"members\":{}}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"page_info\":{\"total_pages\":3,\"page_count\":1}}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"mixpanel_session_id\":\"s\",\"page_info\":{\"total_pages\":2,\"page_count\":3}}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"mixpanel_session_id\":\"s\",\"page_info\":{\"total_pages\":2,\"page_count\":0}}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"mixpanel_session_id\":\"s\",\"page_info\":{\"total_pages\":2}}}",
            "{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_id\":\"2\",\"mixpanel_cohort_name\":\"n\",\"page_info\":\"1/1\"}}"
    })
    void parse_rejectsWithNamedProblem_whenBodyIsNotAUsableExport(String body) {
        assertThatThrownBy(() -> parse(body))
                .isInstanceOf(InvalidExportException.class)
                .hasMessageNotContaining("Exception")
                .satisfies(e -> assertThat(e.getMessage()).isNotBlank());
    }

    @Test
    void parse_rejectsLongCohortName_whenThousandsOfCharacters() {
        String body = """
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"%s"}}""".formatted("n".repeat(5000));
        assertThatThrownBy(() -> parse(body)).isInstanceOf(InvalidExportException.class)
                .hasMessageContaining("mixpanel_cohort_name").hasMessageContaining("1000");
    }

    @Test
    void parse_rejectsDeepNesting_whenBodyIsHostile() {
        String deep = "[".repeat(5000) + "]".repeat(5000);
        String body = "{\"action\":\"members\",\"parameters\":{\"x\":" + deep + "}}";
        assertThatThrownBy(() -> parse(body)).isInstanceOf(InvalidExportException.class)
                .hasMessageContaining("not valid JSON");
    }

    @Test
    void parse_rejectsInvalidUtf8_whenBytesAreBroken() {
        byte[] body = "{\"action\":\"members\",\"parameters\":{\"mixpanel_cohort_name\":\"\u00ff\"}}"
                .getBytes(StandardCharsets.ISO_8859_1);
        assertThatThrownBy(() -> parser.parse(body)).isInstanceOf(InvalidExportException.class);
    }

    @Test
    void parse_errorMessageNeverQuotesTheBody_whenJsonIsBroken() {
        String body = "{\"action\":\"members\",\"parameters\":{\"members\":[{\"email\":\"secret.person@example.com\" oops";
        assertThatThrownBy(() -> parse(body)).isInstanceOf(InvalidExportException.class)
                .hasMessageNotContaining("secret.person");
    }

    @Test
    void parse_keepsSentAction_whenLaterFieldIsInvalid() {
        assertThatThrownBy(() -> parse("{\"action\":\"add_members\",\"parameters\":{}}"))
                .isInstanceOfSatisfying(InvalidExportException.class,
                        e -> assertThat(e.sentAction()).isEqualTo("add_members"));
    }
    @Test
    void sentAction_readsOnlyTheTopLevelKeysUpToTheAction_soABrokenOrHostileRestDoesNotMatter() {
        // the rest of the body is never read: broken JSON, absurd nesting or megabytes after the action
        assertThat(sentAction("{\"action\":\"add_members\",\"parameters\":{\"members\":[{oops")).isEqualTo("add_members");
        assertThat(sentAction("{\"action\":\"members\",\"x\":" + "[".repeat(5000))).isEqualTo("members");
        // keys before it are skipped, children and all, whatever they hold
        assertThat(sentAction("{\"parameters\":{\"members\":[{\"a\":[1,{\"action\":\"nested\"}]}]},\"n\":1,"
                + "\"action\":\"remove_members\"}")).isEqualTo("remove_members");
        // an action Mixpanel might add one day is echoed too: short, letters and '_' only
        assertThat(sentAction("{\"action\":\"update_members\"}")).isEqualTo("update_members");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "not json", "[\"action\",\"members\"]", "{\"action\":7}", "{\"action\":null}",
            "{\"action\":[\"members\"]}", "{\"action\":{\"members\":1}}", "{\"action\":\"\"}",
            "{\"action\":\"add members\"}", "{\"action\":\"<b>members</b>\"}", "{\"action\":\"members\\n\"}",
            "{\"action\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}", "{\"parameters\":{}}",
            "{\"parameters\":{\"action\":\"members\"}}", "{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]],\"action\":\"members\"}"})
    void sentAction_isNull_whenThereIsNoPlausibleActionToEcho(String body) {
        assertThat(sentAction(body)).isNull();
    }

    @Test
    void sentAction_readsNoFurtherThanTheSizeLimit() {
        String body = "{\"parameters\":{\"pad\":\"" + "x".repeat(10_000) + "\"},\"action\":\"members\"}";
        assertThat(parser.sentAction(body.getBytes(StandardCharsets.UTF_8), 1_000)).isNull();
        assertThat(parser.sentAction(body.getBytes(StandardCharsets.UTF_8), body.length())).isEqualTo("members");
        assertThat(parser.sentAction("{\"action\":\"members\"}".getBytes(StandardCharsets.UTF_8), 0)).isNull();
        assertThat(parser.sentAction(null, 100)).isNull();
    }

    private String sentAction(String body) {
        return parser.sentAction(body.getBytes(StandardCharsets.UTF_8), 6_000_000);
    }

    @Test
    void parse_keepsMembersWithoutTheUserIdProperty_asAnonymous_whenMissingUserIdIsAnonymous() {
        // given identity mapping on email, one member with it, one without, one with an empty distinct id
        String body = """
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"C","members":[
                   {"mixpanel_distinct_id":"d-1","email":"ada@example.com"},
                   {"mixpanel_distinct_id":"d-2"},
                   {"mixpanel_distinct_id":"d-3","email":""},
                   {"mixpanel_distinct_id":"","email":"x@example.com"}]}}""";

        // when
        CohortExport skipping = new MixpanelRequestParser("email", java.util.Map.of())
                .parse(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));
        CohortExport anonymous = new MixpanelRequestParser("email", java.util.Map.of(), MissingUserId.ANONYMOUS)
                .parse(body.getBytes(java.nio.charset.StandardCharsets.UTF_8));

        // then the default skips and counts them, as before
        assertThat(skipping.distinctIds()).containsExactly("d-1");
        assertThat(skipping.skipped()).containsEntry(SkipReason.MISSING_USER_ID, 2).containsEntry(SkipReason.EMPTY_ID, 1);
        assertThat(skipping.anonymousIds()).isEmpty();
        // and anonymous keeps them, known by their distinct id; an empty distinct id is still refused (never both empty)
        assertThat(anonymous.distinctIds()).containsExactly("d-1", "d-2", "d-3");
        assertThat(anonymous.anonymousIds()).containsExactlyInAnyOrder("d-2", "d-3");
        assertThat(anonymous.userIds()).containsExactly(java.util.Map.entry("d-1", "ada@example.com"));
        assertThat(anonymous.skipped()).containsExactly(java.util.Map.entry(SkipReason.EMPTY_ID, 1));
    }

    @Test
    void parse_hasNoAnonymousMembers_whenNoUserIdPropertyIsConfigured() {
        CohortExport export = new MixpanelRequestParser(null, java.util.Map.of(), MissingUserId.ANONYMOUS).parse("""
                {"action":"add_members","parameters":{"mixpanel_project_id":"1","mixpanel_cohort_id":"2",
                 "mixpanel_cohort_name":"C","members":[{"mixpanel_distinct_id":"d-2"}]}}"""
                .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        assertThat(export.distinctIds()).containsExactly("d-2");
        assertThat(export.anonymousIds()).isEmpty();
    }

    @Test
    void missingUserId_parsesSkipOrAnonymous_andRefusesAnythingElse() {
        assertThat(MissingUserId.parse(null)).isEqualTo(MissingUserId.SKIP);
        assertThat(MissingUserId.parse(" Anonymous ")).isEqualTo(MissingUserId.ANONYMOUS);
        assertThat(MissingUserId.parse("skip")).isEqualTo(MissingUserId.SKIP);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> MissingUserId.parse("drop"))
                .hasMessageContaining("MISSING_USER_ID");
    }
}
