package io.cohortsync.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;
import io.cohortsync.domain.SyncHistory;

import java.time.Clock;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * {@code status}: one cohort as the table holds it, read through the functions' own stores: the cohort
 * item (name, epoch, whether an exit pass or migration runs), the sync history (newest first), the pages
 * of unfinished full syncs, the outcome of the last completed one, and the recent reconcile work with
 * each shard's checkpoint while it is in progress. Reads only. Counts and cohort, session and request
 * ids only: a checkpoint's cursor is a distinct id, so it is never shown.
 */
final class StatusCommand {
    /** Pieces of reconcile work shown, as {@code GET /mixpanel/status} shows them. */
    static final int RECONCILES_SHOWN = 5;

    private final CohortStore cohorts;
    private final SyncHistory history;
    private final ReconcileStore reconcile;
    private final SessionStore sessions;
    private final Clock clock;
    private final Report out;

    StatusCommand(CohortStore cohorts, SyncHistory history, ReconcileStore reconcile, SessionStore sessions,
                  Clock clock, Report out) {
        this.cohorts = cohorts;
        this.history = history;
        this.reconcile = reconcile;
        this.sessions = sessions;
        this.clock = clock;
        this.out = out;
    }

    int run(Target target, CohortRef cohort, int limit) throws SetupException {
        Optional<CohortState> state = cohorts.load(cohort);
        List<HistoryEntry> entries = history.recent(cohort, limit);
        List<ReconcileStore.Summary> work = reconcile.recent(cohort, RECONCILES_SHOWN);
        String id = cohort.projectId() + "/" + cohort.cohortId()
                + (cohort.isDefaultConnection() ? "" : " on connection " + cohort.connection());
        if (state.isEmpty() && entries.isEmpty() && work.isEmpty()) {
            throw new SetupException("no cohort " + id + " in table " + target.get(Resource.TABLE)
                    + " (no cohort item, history or reconcile work; check --project, --cohort and --connection)");
        }
        ObjectNode doc = out.document();
        doc.put("connection", cohort.connection()).put("projectId", cohort.projectId()).put("cohortId", cohort.cohortId())
                .put("table", target.get(Resource.TABLE)).put("readAt", clock.instant().toString());
        out.println("status " + id + " — " + target.where());
        out.println("  state table: " + target.get(Resource.TABLE));
        cohortState(cohort, state, doc);
        syncs(cohort, entries, limit, doc);
        reconciles(cohort, work, doc);
        return 0;
    }

    private void cohortState(CohortRef cohort, Optional<CohortState> state, ObjectNode doc) {
        if (state.isEmpty()) {
            doc.putNull("state");
            out.println("cohort: no cohort item (an earlier version's layout, or not seen since its history was written)");
            return;
        }
        CohortState s = state.get();
        ObjectNode n = doc.putObject("state");
        n.put("name", s.name()).put("nameVersion", s.nameVersion()).put("epoch", s.epoch())
                .put("reconcileSession", s.reconcileSession()).put("reconciling", s.reconciling())
                .put("migrating", s.migrating());
        out.println("cohort \"" + s.name() + "\": name version " + s.nameVersion() + ", epoch " + s.epoch()
                + " (" + Words.count(s.epoch(), "full sync") + " completed)"
                + (s.reconciling() ? "; exit pass of epoch " + s.epoch() + " running" : "")
                + (s.migrating() ? "; being migrated from the earlier single-partition layout" : ""));
        if (s.reconcileSession() != null) {
            Optional<SessionOutcome> outcome = sessions.outcome(new SessionKey(cohort, s.reconcileSession()));
            ObjectNode last = n.putObject("lastFullSync").put("sessionId", s.reconcileSession());
            if (outcome.isPresent()) {
                SessionOutcome o = outcome.get();
                last.put("status", o.status().name()).put("epoch", o.epoch()).put("members", o.members())
                        .put("exits", o.exits());
                out.println("  last full sync " + s.reconcileSession() + ": " + o.status() + " (epoch " + o.epoch()
                        + ", " + Words.count(o.members(), "member") + ", " + Words.count(o.exits(), "exit") + ")");
            } else {
                last.putNull("status");
                out.println("  last full sync " + s.reconcileSession() + ": outcome expired");
            }
        }
    }

    private void syncs(CohortRef cohort, List<HistoryEntry> entries, int limit, ObjectNode doc) {
        ArrayNode list = doc.putArray("history");
        out.println(entries.isEmpty() ? "recent syncs: none in the history (HISTORY_TTL_DAYS=0, expired, or only"
                + " calls that changed nothing)" : "recent syncs (newest first, " + entries.size() + " of at most " + limit + "):");
        // Unfinished full syncs: a session whose newest entry shown says INCOMPLETE.
        Map<String, HistoryEntry> newestBySession = new LinkedHashMap<>();
        for (HistoryEntry e : entries) {
            ObjectNode o = list.addObject();
            o.put("observedAt", e.observedAt().toString()).put("requestId", e.requestId()).put("action", e.action())
                    .put("sessionId", e.sessionId()).put("page", e.page()).put("totalPages", e.totalPages())
                    .put("members", e.membersReceived()).put("enters", e.enters()).put("exits", e.exits())
                    .put("unchanged", e.unchanged()).put("renamed", e.renamed()).put("session", e.session())
                    .put("sessionExits", e.sessionExits()).put("status", e.status()).put("outcome", e.outcome())
                    .put("durationMs", e.durationMs()).put("sent", e.sent()).put("rejected", e.rejected())
                    .put("wouldSend", e.wouldSend());
            ObjectNode skipped = o.putObject("skipped");
            e.skipped().forEach(skipped::put);
            out.println(String.format(Locale.ROOT, "  %s  %-14s page %d/%d  %d received  +%d -%d  %-11s %d %s  %.0f ms"
                            + "  sent %d, rejected %d%s", e.observedAt(), e.action(), e.page(), e.totalPages(),
                    e.membersReceived(), e.enters(), e.exits(), e.session(), e.status(), e.outcome(), e.durationMs(),
                    e.sent(), e.rejected(), e.wouldSend() > 0 ? ", would send " + e.wouldSend() : ""));
            if (e.sessionId() != null) {
                newestBySession.putIfAbsent(e.sessionId(), e);
            }
        }
        ArrayNode pending = doc.putArray("unfinishedFullSyncs");
        newestBySession.values().stream().filter(e -> "INCOMPLETE".equals(e.session())).forEach(e -> {
            OptionalInt pages = sessions.pagesIfRecorded(new SessionKey(cohort, e.sessionId()), e.page());
            ObjectNode o = pending.addObject().put("sessionId", e.sessionId()).put("totalPages", e.totalPages());
            if (pages.isPresent()) {
                o.put("pagesReceived", pages.getAsInt());
            } else {
                o.putNull("pagesReceived");
            }
            out.println("  full sync " + e.sessionId() + " unfinished: " + (pages.isPresent()
                    ? pages.getAsInt() + " of " + e.totalPages() + " pages received"
                    : "its page receipts expired") + "; exits wait for the last page");
        });
    }

    private void reconciles(CohortRef cohort, List<ReconcileStore.Summary> work, ObjectNode doc) {
        ArrayNode list = doc.putArray("reconcile");
        out.println(work.isEmpty() ? "reconcile: no work recorded (no full sync completed, no rename, no migration kept)"
                : "reconcile (newest first):");
        for (ReconcileStore.Summary r : work) {
            int shards = "MIGRATE".equals(r.kind()) ? 1 : Shards.COUNT;
            boolean inProgress = r.phase() != ReconcileStore.Phase.DONE && r.phase() != ReconcileStore.Phase.HELD;
            ObjectNode o = list.addObject().put("work", r.kind()).put("generation", r.generation())
                    .put("sessionId", r.sessionId()).put("phase", r.phase().name()).put("shards", shards)
                    .put("shardsCounted", r.shardsCounted()).put("shardsDone", r.shardsDone())
                    .put("members", r.members()).put("matched", r.matched()).put("changed", r.changed())
                    .put("scanned", r.scanned()).put("inProgress", inProgress);
            out.println("  " + r.kind() + " #" + r.generation() + (r.sessionId() != null ? " session " + r.sessionId() : "")
                    + "  " + r.phase() + "  " + counts(r, shards) + (inProgress ? "  (in progress)" : ""));
            if (inProgress) {
                checkpoints(cohort, r, shards, o.putArray("checkpoints"));
            }
        }
    }

    private static String counts(ReconcileStore.Summary r, int shards) {
        String done = r.shardsDone() + "/" + shards + " shards done";
        return switch (r.kind()) {
            case "EXIT" -> r.shardsCounted() + "/" + shards + " shards counted, " + done + "; "
                    + Words.count(r.members(), "member") + ", " + r.matched() + " exits found, " + r.changed()
                    + " applied; " + r.scanned() + " scanned";
            case "RENAME" -> done + "; " + r.changed() + " re-announced; " + r.scanned() + " scanned";
            default -> done + "; " + r.changed() + " items migrated; " + r.scanned() + " scanned";
        };
    }

    /** Each shard's checkpoint of the work's current phase: how far its job got (never its cursor: a distinct id). */
    private void checkpoints(CohortRef cohort, ReconcileStore.Summary r, int shards, ArrayNode list) {
        ReconcileJob.Kind kind = switch (r.kind()) {
            case "EXIT" -> r.phase() == ReconcileStore.Phase.COUNTING ? ReconcileJob.Kind.EXIT_COUNT : ReconcileJob.Kind.EXIT_APPLY;
            case "RENAME" -> ReconcileJob.Kind.RENAME;
            default -> ReconcileJob.Kind.MIGRATE;
        };
        if (kind.work().equals("EXIT") && r.sessionId() == null) {
            return; // an exit summary always names its session; without one there is no job key to read
        }
        ReconcileJob job = new ReconcileJob(kind, cohort, r.generation(), r.sessionId(), 0, Instant.EPOCH);
        StringBuilder line = new StringBuilder("    " + kind + " checkpoints:");
        for (int shard = 0; shard < shards; shard++) {
            Optional<Checkpoint> cp = reconcile.checkpoint(job.forShard(shard));
            ObjectNode o = list.addObject().put("shard", shard);
            if (cp.isEmpty()) {
                o.put("started", false);
                line.append(String.format(Locale.ROOT, " %02x:-", shard));
                continue;
            }
            Checkpoint c = cp.get();
            o.put("started", true).put("done", c.done()).put("chunks", c.seq()).put("scanned", c.scanned())
                    .put("matched", c.matched()).put("changed", c.changed());
            line.append(String.format(Locale.ROOT, " %02x:%s%d", shard, c.done() ? "done/" : "", c.scanned()));
        }
        out.println(line.toString());
        out.println("    (per shard: scanned so far; '-' not started; done/ finished)");
    }
}
