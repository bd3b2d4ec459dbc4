package io.cohortsync.cli;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Shards;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class CohortTableTest {

    @ParameterizedTest
    @ValueSource(strings = {"1457721", "a#b", "50%", "%23", "%2523#%", "ü#%25"})
    void cohortId_recoversTheCohortId_fromEveryShardsMembershipKey(String cohortId) {
        // given the keys the webhook writes for a cohort of a project whose id has the escaped characters too
        String project = "p#1%";
        CohortRef cohort = new CohortRef(project, cohortId);

        // when
        String prefix = CohortTable.membershipPrefix(project);

        // then
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            String pk = Keys.membershipPk(cohort, shard);
            assertThat(pk).startsWith(prefix);
            assertThat(CohortTable.cohortId(pk.substring(prefix.length()))).isEqualTo(cohortId);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"1457721", "a#b", "50%", "%2523#%"})
    void cohortId_recoversTheCohortId_fromTheOldSinglePartitionKey(String cohortId) {
        // given the key earlier versions wrote for the whole cohort (not migrated yet)
        String pk = Keys.legacyMembershipPk(new CohortRef("p#1%", cohortId));

        // when
        String prefix = CohortTable.membershipPrefix("p#1%");

        // then
        assertThat(CohortTable.cohortId(pk.substring(prefix.length()))).isEqualTo(cohortId);
    }
}
