package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class DiffTest {
    private static final CohortState PLAIN = CohortState.first("Power users");

    @Test
    void page_entersOnlyNonMembers_whenAdding() {
        // given a member, an ex-member and a stranger
        Map<String, Membership> stored = Map.of("in", new Membership(true, 1), "left", new Membership(false, 2));
        // when all three should be members
        Diff.Page page = Diff.page(List.of("in", "left", "new"), stored, true, Map.of(), PLAIN, true, false);
        // then only the ex-member and the stranger change, each one version up, stamped with name version 1
        assertThat(page.changes()).containsExactly(
                new Change("left", new Membership(false, 2), new Membership(true, 3, null, 1, 0)),
                new Change("new", Membership.ABSENT, new Membership(true, 1, null, 1, 0)));
        assertThat(page.marks()).isEmpty();
    }

    @Test
    void page_exitsOnlyMembers_andKeepsTheirMappedUserId_whenRemoving() {
        Map<String, Membership> stored = Map.of("in", new Membership(true, 4, "seg-1"), "left", new Membership(false, 2));
        Diff.Page page = Diff.page(List.of("in", "left", "never"), stored, false, Map.of(), PLAIN, true, false);
        assertThat(page.changes()).containsExactly(
                new Change("in", new Membership(true, 4, "seg-1"), new Membership(false, 5, "seg-1", 1, 0)));
    }

    @Test
    void page_isEmpty_whenReplayingAnAppliedPage_andNoExitPassIsPending() {
        Map<String, Membership> stored = Map.of("a", new Membership(true, 1), "b", new Membership(true, 3));
        Diff.Page page = Diff.page(List.of("a", "b"), stored, true, Map.of(), PLAIN, true, false);
        assertThat(page.changes()).isEmpty();
        assertThat(page.marks()).isEmpty();
    }

    @Test
    void page_marksUnchangedMembersNotYetMarked_whileAnExitPassIsPending() {
        // given the cohort's epoch-3 exit pass is pending; "a" is unmarked, "b" marked already, "c" not a member
        CohortState pending = new CohortState("Power users", 1, Map.of(), 3, "s3", true, false);
        Map<String, Membership> stored = Map.of("a", new Membership(true, 1, null, 1, 2),
                "b", new Membership(true, 1, null, 1, 3), "c", new Membership(false, 2));
        // when an add lists all three
        Diff.Page page = Diff.page(List.of("a", "b", "c"), stored, true, Map.of(), pending, true, true);
        // then "a" is marked, "c" enters stamped with epoch 3, "b" costs nothing
        assertThat(page.marks()).containsOnlyKeys("a");
        assertThat(page.changes()).extracting(Change::distinctId).containsExactly("c");
        assertThat(page.changes().get(0).to().listedEpoch()).isEqualTo(3);
    }

    @Test
    void page_namesTheOldName_forAMemberLastAnnouncedUnderIt_unlessRenamesAreOff() {
        CohortState renamed = CohortState.first("Old").renamed("New");
        Map<String, Membership> stored = Map.of("u", new Membership(true, 5, null, 1, 0));

        Diff.Page followed = Diff.page(List.of("u"), stored, false, Map.of(), renamed, true, false);
        Diff.Page ignored = Diff.page(List.of("u"), stored, false, Map.of(), renamed, false, false);

        assertThat(followed.changes().get(0).previousName()).isEqualTo("Old");
        assertThat(followed.changes().get(0).to().nameVersion()).isEqualTo(2);
        assertThat(ignored.changes().get(0).previousName()).isNull();
    }
}
