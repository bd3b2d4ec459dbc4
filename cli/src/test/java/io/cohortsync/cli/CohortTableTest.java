package io.cohortsync.cli;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;

class CohortTableTest {

    @ParameterizedTest
    @ValueSource(strings = {"1457721", "a#b", "50%", "%23", "%2523#%", "ü#%25"})
    void unescape_recoversTheCohortId_fromAMembershipKey(String cohortId) {
        // given the key the webhook writes for a cohort of a project whose id has the escaped characters too
        String project = "p#1%";
        String pk = Keys.membershipPk(new CohortRef(project, cohortId));

        // when
        String prefix = CohortTable.membershipPrefix(project);

        // then
        assertThat(pk).startsWith(prefix);
        assertThat(CohortTable.unescape(pk.substring(prefix.length()))).isEqualTo(cohortId);
    }
}
