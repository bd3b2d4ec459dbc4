package io.cohortsync.mixpanel;

import java.util.Optional;

/** The three actions a Mixpanel cohort export sends. */
public enum Action {
    /** The complete cohort (possibly over several pages of one session): replace what we hold. */
    MEMBERS("members"),
    /** Users who entered since the last successful sync. */
    ADD_MEMBERS("add_members"),
    /** Users who exited since the last successful sync. */
    REMOVE_MEMBERS("remove_members");

    private final String wireName;

    Action(String wireName) {
        this.wireName = wireName;
    }

    public String wireName() {
        return wireName;
    }

    public static Optional<Action> fromWire(String name) {
        for (Action a : values()) {
            if (a.wireName.equals(name)) {
                return Optional.of(a);
            }
        }
        return Optional.empty();
    }
}
