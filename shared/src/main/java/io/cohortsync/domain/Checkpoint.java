package io.cohortsync.domain;

/**
 * How far one reconcile job got, written after every committed chunk. A job resumes from here after
 * a crash, a timeout or a continuation; {@code seq} makes each write conditional on the previous one,
 * so two copies of a job can never both advance it.
 *
 * @param seq       writes so far (0: none)
 * @param passStart exit passes: the smallest session id of the current pass (null: the first pass)
 * @param cursor    the last key processed in the current pass or scan (null: its start)
 * @param scanned   items read
 * @param members   current members seen (exit count)
 * @param matched   members the pass selected: absent and unlisted (exit passes), on an older name (renames)
 * @param changed   changes committed (exits, re-announcements, items migrated)
 * @param done      the job has finished its shard
 */
public record Checkpoint(long seq, String passStart, String cursor, long scanned, long members, long matched,
                         long changed, boolean done) {
    public static final Checkpoint START = new Checkpoint(0, null, null, 0, 0, 0, 0, false);

    public Checkpoint {
        if (seq < 0 || scanned < 0 || members < 0 || matched < 0 || changed < 0) {
            throw new IllegalArgumentException("checkpoint counts must be >= 0");
        }
    }

    /** After one more chunk of the current pass. */
    public Checkpoint advanced(String newCursor, long moreScanned, long moreMembers, long moreMatched, long moreChanged) {
        return new Checkpoint(seq + 1, passStart, newCursor, scanned + moreScanned, members + moreMembers,
                matched + moreMatched, changed + moreChanged, false);
    }

    /** The current pass is exhausted; the next starts at {@code nextPassStart}. */
    public Checkpoint nextPass(String nextPassStart) {
        return new Checkpoint(seq + 1, nextPassStart, null, scanned, members, matched, changed, false);
    }

    public Checkpoint finished() {
        return new Checkpoint(seq + 1, passStart, cursor, scanned, members, matched, changed, true);
    }
}
