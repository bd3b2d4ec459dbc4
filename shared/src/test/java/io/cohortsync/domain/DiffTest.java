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

    @Test
    void page_recordsAnonymousEnters_andTheirExitKeepsTheIdentityOfTheEnter() {
        // given a stranger listed without the user-id property (MISSING_USER_ID=anonymous) and one with it
        Diff.Page enters = Diff.page(List.of("anon", "named"), Map.of(), true, Map.of("named", "seg-2"),
                java.util.Set.of("anon"), PLAIN, true, false);
        assertThat(enters.changes()).containsExactly(
                new Change("anon", Membership.ABSENT, new Membership(true, 1, null, 1, 0, true)),
                new Change("named", Membership.ABSENT, new Membership(true, 1, "seg-2", 1, 0, false)));

        // when both are removed, listed without the property this time
        Map<String, Membership> stored = Map.of("anon", new Membership(true, 1, null, 1, 0, true),
                "named", new Membership(true, 1, "seg-2", 1, 0, false));
        Diff.Page exits = Diff.page(List.of("anon", "named"), stored, false, Map.of(), java.util.Set.of("anon", "named"),
                PLAIN, true, false);

        // then each exit goes where its enter went
        assertThat(exits.changes()).extracting(c -> c.to().anonymous(), c -> c.to().userId()).containsExactly(
                org.assertj.core.groups.Tuple.tuple(true, null), org.assertj.core.groups.Tuple.tuple(false, "seg-2"));
        // and an anonymous member who enters again with the property is known by it from then on
        Map<String, Membership> left = Map.of("anon", new Membership(false, 2, null, 1, 0, true));
        assertThat(Diff.page(List.of("anon"), left, true, Map.of("anon", "seg-3"), java.util.Set.of(), PLAIN, true,
                false).changes()).singleElement().satisfies(c -> {
                    assertThat(c.to().anonymous()).isFalse();
                    assertThat(c.to().userId()).isEqualTo("seg-3");
                });
    }

    @Test
    void membership_refusesAUserIdOnAnAnonymousMember() {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Membership(true, 1, "seg", 0, 0, true))
                .hasMessageContaining("anonymous");
    }
}
