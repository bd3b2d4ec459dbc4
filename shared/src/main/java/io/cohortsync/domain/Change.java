package io.cohortsync.domain;

import java.util.Objects;

/**
 * One real membership change for one user, ready to commit: {@code from} is what the table held when
 * the change was computed (the commit's condition), {@code to} what it will hold.
 */
public record Change(String distinctId, Membership from, Membership to) {
    public Change {
        Objects.requireNonNull(distinctId, "distinctId");
        Objects.requireNonNull(from, "from");
        Objects.requireNonNull(to, "to");
        if (to.version() != from.version() + 1) {
            throw new IllegalArgumentException("to.version must be from.version + 1");
        }
        if (to.member() == from.member()) {
            throw new IllegalArgumentException("a change must flip membership");
        }
    }

    public boolean isEnter() {
        return to.member();
    }
}
