package io.cohortsync.bench;

/**
 * What an item of the single table is, from its key (io.cohortsync.aws.Keys): the units of every
 * write and read are reported by kind, so the membership writes (the floor) stand apart from session
 * receipts, the cohort item, the reconciler's checkpoints and the rest.
 */
enum ItemKind {
    /** {@code M#<project>#<cohort>#<shard>}: one user's membership. */
    MEMBERSHIP("membership"),
    /** {@code M#<project>#<cohort>}: membership in the layout of earlier versions (migrated by the reconciler). */
    LEGACY_MEMBERSHIP("membership, old layout"),
    /** {@code S#…}, {@code P#<page>}: a full-sync page's receipt. */
    SESSION_RECEIPT("session receipt"),
    /** {@code S#…}, {@code I#<shard>#<page>#<n>}: one shard's piece of a page's user ids. */
    SESSION_IDS("session ids"),
    /** {@code S#…}, {@code OUTCOME}: what became of a session's exit pass. */
    SESSION_OUTCOME("session outcome"),
    /** {@code C#<project>#<cohort>}, {@code META}: name versions, epoch, reconcile state. */
    COHORT("cohort"),
    /** {@code R#…}, {@code C#…}: a reconcile job's checkpoint. */
    CHECKPOINT("reconcile checkpoint"),
    /** {@code R#…}, {@code S#…}: the summary the shards of one piece of work report into. */
    RECONCILE_SUMMARY("reconcile summary"),
    /** {@code H#…}: a sync history entry. */
    HISTORY("history"),
    OTHER("other");

    final String label;

    ItemKind(String label) {
        this.label = label;
    }

    boolean isSession() {
        return this == SESSION_RECEIPT || this == SESSION_IDS || this == SESSION_OUTCOME;
    }

    /** The kind of the item with these keys; a connection ({@code M!eu#…}) does not change it. */
    static ItemKind of(String pk, String sk) {
        if (pk == null || pk.length() < 2 || (pk.charAt(1) != '#' && pk.charAt(1) != '!')) {
            return OTHER;
        }
        String s = sk == null ? "" : sk;
        return switch (pk.charAt(0)) {
            // Key parts are escaped (# -> %23), so the separators can be counted: 3 with a shard, 2 without.
            case 'M' -> pk.chars().filter(c -> c == '#').count() == 3 ? MEMBERSHIP : LEGACY_MEMBERSHIP;
            case 'S' -> s.startsWith("P#") ? SESSION_RECEIPT : s.startsWith("I#") ? SESSION_IDS
                    : s.equals("OUTCOME") ? SESSION_OUTCOME : OTHER;
            case 'C' -> COHORT;
            case 'R' -> s.startsWith("C#") ? CHECKPOINT : s.startsWith("S#") ? RECONCILE_SUMMARY : OTHER;
            case 'H' -> HISTORY;
            default -> OTHER;
        };
    }
}
