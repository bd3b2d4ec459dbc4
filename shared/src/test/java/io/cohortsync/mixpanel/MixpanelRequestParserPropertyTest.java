package io.cohortsync.mixpanel;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Whatever arrives, the parser either returns an export or throws {@link InvalidExportException}
 * (a 400): no other exception may escape and become a 500, which Mixpanel would retry forever.
 */
class MixpanelRequestParserPropertyTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final JsonNodeFactory F = JsonNodeFactory.instance;
    private final MixpanelRequestParser parser = new MixpanelRequestParser();

    @Property(tries = 2000)
    void parse_onlyEverThrowsInvalidExport_forArbitraryBytes(@ForAll byte[] body) {
        assertOnlyInvalidExport(body);
    }

    @Property(tries = 2000)
    void parse_onlyEverThrowsInvalidExport_forArbitraryStrings(@ForAll String body) {
        assertOnlyInvalidExport(body.getBytes(StandardCharsets.UTF_8));
    }

    @Property(tries = 3000)
    void parse_onlyEverThrowsInvalidExport_forExportsWithArbitraryFieldValues(
            @ForAll("actions") JsonNode action, @ForAll("values") JsonNode project, @ForAll("values") JsonNode cohort,
            @ForAll("values") JsonNode name, @ForAll("values") JsonNode session, @ForAll("values") JsonNode pageInfo,
            @ForAll("memberLists") JsonNode members) {
        ObjectNode root = F.objectNode();
        root.set("action", action);
        ObjectNode p = root.putObject("parameters");
        p.set("mixpanel_project_id", project);
        p.set("mixpanel_cohort_id", cohort);
        p.set("mixpanel_cohort_name", name);
        p.set("mixpanel_session_id", session);
        p.set("page_info", pageInfo);
        p.set("members", members);
        byte[] body = root.toString().getBytes(StandardCharsets.UTF_8);
        try {
            CohortExport export = parser.parse(body);
            // strict on output: what gets through is usable
            assertThat(export.cohortName()).isNotBlank();
            assertThat(export.page()).isBetween(1, export.totalPages());
            assertThat(export.distinctIds()).doesNotHaveDuplicates().allSatisfy(id ->
                    assertThat(id.getBytes(StandardCharsets.UTF_8).length).isBetween(1, 1024));
            assertThat(export.distinctIds().size() + export.skippedCount()).isEqualTo(export.membersReceived());
        } catch (InvalidExportException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    private void assertOnlyInvalidExport(byte[] body) {
        try {
            parser.parse(body);
        } catch (InvalidExportException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    @Provide
    Arbitrary<JsonNode> actions() {
        return Arbitraries.oneOf(Arbitraries.of("members", "add_members", "remove_members").map(F::textNode),
                values());
    }

    @Provide
    Arbitrary<JsonNode> values() {
        Arbitrary<JsonNode> scalars = Arbitraries.oneOf(
                Arbitraries.strings().ofMaxLength(40).map(F::textNode),
                Arbitraries.strings().withCharRange('0', '9').ofMinLength(1).ofMaxLength(25).map(F::textNode),
                Arbitraries.longs().map(F::numberNode),
                Arbitraries.doubles().map(F::numberNode),
                Arbitraries.bigIntegers().between(new BigInteger("-1" + "0".repeat(40)),
                        new BigInteger("1" + "0".repeat(40))).map(F::numberNode),
                Arbitraries.of(F.nullNode(), F.booleanNode(true), F.booleanNode(false), F.missingNode()));
        Arbitrary<JsonNode> pageInfos = Arbitraries.integers().between(-2, 5).tuple2().map(t -> {
            ObjectNode o = F.objectNode();
            o.put("total_pages", t.get1());
            o.put("page_count", t.get2());
            return (JsonNode) o;
        });
        Arbitrary<JsonNode> containers = scalars.list().ofMaxSize(3).map(l -> {
            ArrayNode a = F.arrayNode();
            l.forEach(a::add);
            return (JsonNode) a;
        });
        return Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, scalars), net.jqwik.api.Tuple.of(2, pageInfos),
                net.jqwik.api.Tuple.of(1, containers));
    }

    @Provide
    Arbitrary<JsonNode> memberLists() {
        Arbitrary<JsonNode> member = Arbitraries.oneOf(
                values().map(v -> {
                    ObjectNode m = F.objectNode();
                    m.set("mixpanel_distinct_id", v);
                    m.put("email", "x@example.com");
                    return (JsonNode) m;
                }),
                values().map(v -> {
                    ObjectNode m = F.objectNode();
                    m.set("$distinct_id", v);
                    return (JsonNode) m;
                }),
                values());
        return Arbitraries.oneOf(member.list().ofMaxSize(8).map(l -> {
            ArrayNode a = F.arrayNode();
            l.forEach(a::add);
            return (JsonNode) a;
        }), values());
    }

    @Property(tries = 200)
    void parse_neverLosesAValidMember_whenOthersAreBroken(@ForAll("memberLists") JsonNode junk) {
        ArrayNode members = F.arrayNode();
        members.add(F.objectNode().put("mixpanel_distinct_id", "keep-me"));
        if (junk.isArray()) {
            junk.forEach(members::add);
        }
        ObjectNode root = F.objectNode().put("action", "add_members");
        root.putObject("parameters").put("mixpanel_project_id", "1").put("mixpanel_cohort_id", "2")
                .put("mixpanel_cohort_name", "n").set("members", members);
        CohortExport export = parser.parse(root.toString().getBytes(StandardCharsets.UTF_8));
        assertThat(export.distinctIds()).contains("keep-me");
        assertThat(List.of(export.membersReceived())).containsExactly(members.size());
    }
    @Property(tries = 500)
    void parse_neverRefusesACall_forUnknownFieldsAtTheTopLevelOrInParameters(
            @ForAll("unknownNames") List<String> topNames, @ForAll("valuesList") List<JsonNode> topValues,
            @ForAll("unknownNames") List<String> paramNames, @ForAll("valuesList") List<JsonNode> paramValues) {
        ObjectNode root = F.objectNode().put("action", "add_members");
        ObjectNode p = root.putObject("parameters").put("mixpanel_project_id", "1").put("mixpanel_cohort_id", "2")
                .put("mixpanel_cohort_name", "n");
        p.putArray("members").addObject().put("mixpanel_distinct_id", "keep-me");
        for (int i = 0; i < Math.min(topNames.size(), topValues.size()); i++) {
            root.set(topNames.get(i), topValues.get(i).isMissingNode() ? F.nullNode() : topValues.get(i));
        }
        for (int i = 0; i < Math.min(paramNames.size(), paramValues.size()); i++) {
            p.set(paramNames.get(i), paramValues.get(i).isMissingNode() ? F.nullNode() : paramValues.get(i));
        }
        CohortExport export = parser.parse(root.toString().getBytes(StandardCharsets.UTF_8));
        assertThat(export.distinctIds()).containsExactly("keep-me");
        assertThat(export.notes().unknownFields()).hasSizeLessThanOrEqualTo(ExportNotes.MAX_UNKNOWN_FIELDS + 1)
                .allSatisfy(name -> assertThat(name).hasSizeLessThanOrEqualTo(80));
    }

    @Provide
    Arbitrary<List<String>> unknownNames() {
        Set<String> known = Set.of("action", "parameters", "members", "mixpanel_project_id",
                "mixpanel_cohort_id", "mixpanel_cohort_name", "mixpanel_cohort_description", "mixpanel_session_id",
                "page_info", "mixpanel_integration_id");
        return Arbitraries.oneOf(Arbitraries.strings().ofMaxLength(70), Arbitraries.strings().alpha().ofMinLength(1)
                        .ofMaxLength(12).map(s -> "mixpanel_" + s))
                .filter(n -> !known.contains(n)).list().uniqueElements().ofMaxSize(30);
    }

    @Provide
    Arbitrary<List<JsonNode>> valuesList() {
        return values().list().ofMaxSize(30);
    }
}
