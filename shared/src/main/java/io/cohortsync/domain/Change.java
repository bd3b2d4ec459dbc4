package io.cohortsync.domain;

import java.util.Objects;

/**
 * One real change for one user, ready to commit: {@code from} is what the table held when the change
 * was computed (the commit's condition), {@code to} what it will hold. Usually membership flips; on a
 * cohort rename a member is re-announced under the new name (name version bumped, {@code previousName}
 * set when the old name is known, membership unchanged, version bumped so anything queued under the
 * old name becomes stale).
 */
public record Change(String distinctId, Membership from, Membership to, String previousName) {
    public Change {
        Objects.requireNonNull(distinctId, "distinctId");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        if (to.version() != from.version() + 1) {
            throw new IllegalArgumentException("to.version must be from.version + 1");
        }
        if (previousName == null && to.member() == from.member() && to.nameVersion() == from.nameVersion()) {
            throw new IllegalArgumentException("a change must flip membership (or re-announce under a new name)");
        }
    }

    public Change(String distinctId, Membership from, Membership to) {
        this(distinctId, from, to, null);
    }

    public boolean isEnter() {
        return to.member() && !from.member();
    }
}
