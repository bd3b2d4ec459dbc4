package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

class DiffTest {
    @Test
    void toward_entersOnlyNonMembers_whenAdding() {
        // given a member, an ex-member and a stranger
        Map<String, Membership> stored = Map.of("in", new Membership(true, 1), "left", new Membership(false, 2));
        // when all three should be members
        List<Change> changes = Diff.toward(List.of("in", "left", "new"), stored, true);
        // then only the ex-member and the stranger change, each one version up
        assertThat(changes).containsExactly(
                new Change("left", new Membership(false, 2), new Membership(true, 3)),
                new Change("new", Membership.ABSENT, new Membership(true, 1)));
    }

    @Test
    void toward_exitsOnlyMembers_whenRemoving() {
        Map<String, Membership> stored = Map.of("in", new Membership(true, 4), "left", new Membership(false, 2));
        List<Change> changes = Diff.toward(List.of("in", "left", "never"), stored, false);
        assertThat(changes).containsExactly(new Change("in", new Membership(true, 4), new Membership(false, 5)));
    }

    @Test
    void toward_isEmpty_whenReplayingAnAppliedPage() {
        Map<String, Membership> stored = Map.of("a", new Membership(true, 1), "b", new Membership(true, 3));
        assertThat(Diff.toward(List.of("a", "b"), stored, true)).isEmpty();
    }

    @Test
    void absentMembers_listsMembersTheExportOmitted_whenSessionComplete() {
        Map<String, Membership> members = Map.of("a", new Membership(true, 1), "b", new Membership(true, 1),
                "c", new Membership(false, 2));
        assertThat(Diff.absentMembers(members, Set.of("a"))).containsExactly("b");
    }
}
