package io.cohortsync.domain;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.stream.IntStream;

/**
 * One unit of the reconciler's work: one kind of pass over one shard of one cohort. Jobs only
 * announce work; what is done so far lives in the job's checkpoint, so a job message may arrive
 * twice, late, or after its work is finished.
 *
 * @param generation the cohort epoch (exit passes) or name version (renames) the job belongs to; 0 for MIGRATE
 * @param sessionId  the completed session (exit passes), else null
 * @param shard      0..{@link Shards#COUNT}-1; 0 for MIGRATE (the old layout is one partition)
 * @param queuedAt   when the job was first queued: a job whose commit never lands is dropped after a while
 * @param ids        RECHECK only: the users to judge again (all in {@code shard}); empty for every other kind
 */
public record ReconcileJob(Kind kind, CohortRef cohort, long generation, String sessionId, int shard,
                           Instant queuedAt, List<String> ids) {
    public enum Kind {
        /** Count the members a completed session would exit (the mass-exit guard decides on the total). */
        EXIT_COUNT,
        /** Exit them. */
        EXIT_APPLY,
        /** Re-announce members under the cohort's current name. */
        RENAME,
        /** Move the cohort's old single-partition state into its shards. */
        MIGRATE,
        /**
         * Judge a few users again: a request's writes that may have landed after a rename's or an exit
         * pass's job had passed them (README "Late writes"). {@code generation} is the epoch the request
         * saw after its commits, {@code sessionId} that epoch's session (null before the first).
         */
        RECHECK;

        /**
         * The piece of work a job belongs to, which keys its summary and checkpoints: an exit pass's two
         * phases are one work, and a re-check reads its epoch's exit summary (it keeps no checkpoint).
         */
        public String work() {
            return switch (this) {
                case EXIT_COUNT, EXIT_APPLY, RECHECK -> "EXIT";
                case RENAME -> "RENAME";
                case MIGRATE -> "MIGRATE";
            };
        }
    }

    public ReconcileJob(Kind kind, CohortRef cohort, long generation, String sessionId, int shard, Instant queuedAt) {
        this(kind, cohort, generation, sessionId, shard, queuedAt, List.of());
    }

    public ReconcileJob {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(cohort, "cohort");
        Objects.requireNonNull(queuedAt, "queuedAt");
        if (shard < 0 || shard >= Shards.COUNT) {
            throw new IllegalArgumentException("shard must be 0.." + (Shards.COUNT - 1) + ", was " + shard);
        }
        if (generation < 0) {
            throw new IllegalArgumentException("generation must be >= 0, was " + generation);
        }
        if ((kind == Kind.EXIT_COUNT || kind == Kind.EXIT_APPLY) && (sessionId == null || sessionId.isBlank())) {
            throw new IllegalArgumentException("an exit job needs its sessionId");
        }
        ids = ids == null ? List.of() : List.copyOf(ids);
        if ((kind == Kind.RECHECK) == ids.isEmpty()) {
            throw new IllegalArgumentException(kind == Kind.RECHECK ? "a re-check needs the ids to judge"
                    : "only a re-check carries ids");
        }
        for (String id : ids) {
            if (Shards.of(id) != shard) {
                throw new IllegalArgumentException("a re-check's ids must all be in its shard " + shard);
            }
        }
    }

    /** The same job for another shard. */
    public ReconcileJob forShard(int otherShard) {
        return new ReconcileJob(kind, cohort, generation, sessionId, otherShard, queuedAt, ids);
    }

    /** The same work in the next phase. */
    public ReconcileJob as(Kind next) {
        return new ReconcileJob(next, cohort, generation, sessionId, shard, queuedAt,
                next == Kind.RECHECK ? ids : List.of());
    }

    /** One job per shard. */
    public static List<ReconcileJob> perShard(Kind kind, CohortRef cohort, long generation, String sessionId,
                                                        Instant queuedAt) {
        return IntStream.range(0, Shards.COUNT)
                .mapToObj(s -> new ReconcileJob(kind, cohort, generation, sessionId, s, queuedAt)).toList();
    }

    /**
     * RECHECK jobs for {@code ids} (users one request committed), one per shard they fall in, each
     * carrying at most {@code maxIdBytes} of ids as JSON (counted at their worst-case escaping) so that its
     * message fits SQS's limit.
     */
    public static List<ReconcileJob> rechecks(CohortRef cohort, long epoch, String sessionId,
                                                        Collection<String> ids, int maxIdBytes,
                                                        Instant queuedAt) {
        Map<Integer, List<String>> byShard = new TreeMap<>();
        ids.forEach(id -> byShard.computeIfAbsent(Shards.of(id), s -> new ArrayList<>()).add(id));
        List<ReconcileJob> jobs = new ArrayList<>();
        byShard.forEach((shard, shardIds) -> {
            List<String> part = new ArrayList<>();
            int bytes = 0;
            for (String id : shardIds) {
                // Worst case in JSON: every byte escaped as a six-character escape, plus quotes and a comma.
                int size = 6 * id.getBytes(StandardCharsets.UTF_8).length + 3;
                if (!part.isEmpty() && bytes + size > maxIdBytes) {
                    jobs.add(new ReconcileJob(Kind.RECHECK, cohort, epoch, sessionId, shard, queuedAt, part));
                    part = new ArrayList<>();
                    bytes = 0;
                }
                part.add(id);
                bytes += size;
            }
            jobs.add(new ReconcileJob(Kind.RECHECK, cohort, epoch, sessionId, shard, queuedAt, part));
        });
        return jobs;
    }

    /** For logs: no user data, just what and where. */
    public String describe() {
        return kind + " " + cohort.cohortId() + " gen " + generation + " shard " + shard
                + (ids.isEmpty() ? "" : " (" + ids.size() + " users)");
    }
}
