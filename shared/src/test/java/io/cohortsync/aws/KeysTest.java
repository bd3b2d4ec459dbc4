package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.Shards;
import io.cohortsync.mixpanel.CohortExport;
import io.cohortsync.mixpanel.MixpanelRequestParser;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class KeysTest {
    /** DynamoDB's limit on a partition key value. */
    private static final int MAX_PARTITION_KEY_BYTES = 2048;

    @ParameterizedTest
    @ValueSource(strings = {"%", "#", "東", "😀"})
    void keys_fitDynamoDbsPartitionKeyLimit_whenIdsAreTheLongestTheParserAccepts(String unit) {
        // given project, cohort and session ids as long as the parser lets through, of the characters
        // that grow most when escaped or encoded
        String id = unit.repeat(MixpanelRequestParser.MAX_ID_CHARS / unit.length());
        CohortExport export = new MixpanelRequestParser().parse(("""
                {"action":"members","parameters":{"mixpanel_project_id":"%1$s","mixpanel_cohort_id":"%1$s",
                 "mixpanel_cohort_name":"N","mixpanel_session_id":"%1$s",
                 "page_info":{"total_pages":2,"page_count":1}}}""").formatted(id).getBytes(StandardCharsets.UTF_8));
        CohortRef cohort = export.cohort();

        // when / then
        assertThat(bytes(Keys.sessionPk(new SessionKey(cohort, export.sessionId()))))
                .isLessThanOrEqualTo(MAX_PARTITION_KEY_BYTES);
        assertThat(bytes(Keys.membershipPk(cohort, Shards.COUNT - 1))).isLessThanOrEqualTo(MAX_PARTITION_KEY_BYTES);
        assertThat(bytes(Keys.reconcilePk(cohort))).isLessThanOrEqualTo(MAX_PARTITION_KEY_BYTES);
    }

    @Test
    void escape_keepsKeysApart_whenIdsContainTheSeparator() {
        assertThat(Keys.membershipPk(new CohortRef("a#b", "c"), 0))
                .isNotEqualTo(Keys.membershipPk(new CohortRef("a", "b#c"), 0));
    }

    @Test
    void membershipPk_putsAUserInItsShard_andNeverInTheOldSinglePartition() {
        CohortRef cohort = new CohortRef("2195193", "1457721");
        String id = "ada@example.com";

        assertThat(Keys.membershipPk(cohort, id)).isEqualTo("M#2195193#1457721#" + String.format("%02x", Shards.of(id)));
        assertThat(Keys.membershipPk(cohort, id)).isNotEqualTo(Keys.legacyMembershipPk(cohort));
        assertThat(Keys.legacyMembershipPk(cohort)).isEqualTo("M#2195193#1457721");
    }

    private static int bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
