package io.cohortsync.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.Shards;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code retire}: sets the trait {@code false} for every current member of a cohort Mixpanel no longer
 * exports (deleted, or its export switched off), then marks the cohort retired (README "Cohorts that stop
 * syncing"). A retirement is a full sync with nobody in it: it is committed like a session's completion
 * (epoch + 1, exit pass pending), so the race rule protects every user a request lists meanwhile; its exits
 * are the reconciler's (deltas first, then conditional commits that spare listed users), so the sender's
 * checks and messageIds apply. Run again after an interruption, it resumes the same retirement: members
 * already exited are no longer members.
 */
final class RetireCommand {
    /** Members read (and at most exited) per page: one Query page of a shard. */
    static final int PAGE = 1_000;
    /** Rounds of re-read + re-judge after lost races, as the reconciler's. */
    static final int MAX_ATTEMPTS = 4;
    /** SQS delay of the exits: they are queued before their commit, like the webhook's (DELTA_DELAY_SECONDS). */
    static final Duration DELTA_DELAY = Duration.ofSeconds(5);
    private static final Pattern SYNCS_AT_START = Pattern.compile("-s(\\d+)$");

    /** What to retire. */
    record Request(String connection, String project, String cohort, boolean dryRun) {
    }

    private final CohortStore cohorts;
    private final MembershipStore members;
    private final DelayedDeltaQueue queue;
    private final RateLimiter limiter;
    private final Clock clock;
    private final Report out;
    private final ProgressReporter progress;
    private final int pageSize;

    /** @param members the membership table through the functions' own adapter (strongly consistent scans) */
    RetireCommand(CohortStore cohorts, MembershipStore members, DelayedDeltaQueue queue, RateLimiter limiter,
                  Clock clock, Report out, ProgressReporter progress) {
        this(cohorts, members, queue, limiter, clock, out, progress, PAGE);
    }

    /** @param pageSize items per shard page (tests page through small shards) */
    RetireCommand(CohortStore cohorts, MembershipStore members, DelayedDeltaQueue queue, RateLimiter limiter,
                  Clock clock, Report out, ProgressReporter progress, int pageSize) {
        this.cohorts = cohorts;
        this.members = members;
        this.queue = queue;
        this.limiter = limiter;
        this.clock = clock;
        this.out = out;
        this.progress = progress;
        this.pageSize = pageSize;
    }

    int run(Target target, Request request) throws SetupException {
        if (request.project() == null || request.cohort() == null) {
            throw new SetupException("retire needs --project P and --cohort C");
        }
        CohortRef ref = new CohortRef(request.connection(), request.project(), request.cohort());
        String what = ref.projectId() + "/" + ref.cohortId();
        CohortState state = cohorts.load(ref).orElseThrow(() -> new SetupException("no cohort " + what
                + " in the state table (no item C#…/META): check the ids and --connection"));
        if (state.migrating()) {
            throw new SetupException("cohort " + what + " is still being moved from an earlier version's layout: "
                    + "nothing retired; run retire once the reconciler has moved it");
        }
        ObjectNode doc = out.document();
        doc.put("projectId", ref.projectId()).put("cohortId", ref.cohortId()).put("cohortName", state.name())
                .put("dryRun", request.dryRun()).put("table", target.get(Resource.TABLE))
                .put("deltaQueueUrl", target.get(Resource.DELTA_QUEUE));
        out.println("retire " + what + " \"" + state.name() + "\"" + (request.dryRun() ? " (dry run: nothing is written)"
                : "") + " — " + target.where());
        out.println("  state table: " + target.get(Resource.TABLE));
        out.println("  delta queue: " + target.get(Resource.DELTA_QUEUE));
        if (state.retiredAt() != null && !state.retiring()) {
            out.println("already retired at " + state.retiredAt() + ": nothing to do");
            doc.put("outcome", "already retired").put("retiredAt", state.retiredAt().toString());
            return CohortSyncCli.OK;
        }
        if (request.dryRun()) {
            long count = countMembers(ref);
            out.println("would exit: " + Words.count(count, "member") + " (trait \"" + state.name()
                    + "\" false), then mark the cohort retired" + (state.retiring() ? " (resuming the retirement "
                    + "started as " + state.reconcileSession() + ")" : ""));
            doc.put("outcome", "dry run").put("wouldExit", count);
            return CohortSyncCli.OK;
        }
        long syncsAtStart;
        long epoch;
        if (state.retiring()) {
            epoch = state.epoch();
            syncsAtStart = syncsAtStart(state.reconcileSession());
            out.println("resuming the retirement " + state.reconcileSession() + " (epoch " + epoch + ")");
        } else {
            syncsAtStart = state.activity() == null ? 0 : state.activity().syncs();
            String session = CohortState.RETIRE_SESSION_PREFIX + BackfillCommand.TOKEN_TIME.format(clock.instant())
                    + "-s" + syncsAtStart;
            if (!cohorts.completeSession(ref, state, new SessionKey(ref, session), 0)) {
                out.println("the cohort changed while the retirement started (a full sync completed?): nothing exited;"
                        + " run retire again");
                doc.put("outcome", "not started: the cohort changed");
                return CohortSyncCli.FAILED;
            }
            epoch = state.epoch() + 1;
            out.println("started the retirement " + session + " (epoch " + epoch + "): requests now mark the users"
                    + " they list, and those are kept");
        }
        Tally tally = new Tally();
        Optional<String> stopped;
        try {
            stopped = exitAll(ref, epoch, tally);
        } catch (RuntimeException e) {
            out.println("stopped early (see the error below); until then: " + line(tally) + ". Run retire again to"
                    + " resume: members already exited are skipped.");
            tally.into(doc).put("outcome", "stopped early by an error");
            throw e;
        }
        tally.into(doc);
        if (stopped.isPresent()) {
            out.println("stopped: " + stopped.get() + ". " + line(tally));
            doc.put("outcome", "stopped: " + stopped.get());
            return CohortSyncCli.FAILED;
        }
        Instant at = clock.instant();
        if (cohorts.finishRetirement(ref, epoch, syncsAtStart, at)) {
            out.println("retired at " + at + ": " + line(tally) + ". A later export for this cohort is accepted,"
                    + " un-retires it and is logged (retired cohort synced again).");
            doc.put("outcome", "retired").put("retiredAt", at.toString());
            return CohortSyncCli.OK;
        }
        CohortState now = cohorts.load(ref).orElse(state);
        if (now.epoch() != epoch) {
            out.println("not marked retired: a full sync completed while the retirement ran; that sync decides. "
                    + line(tally));
            doc.put("outcome", "not marked retired: a full sync completed meanwhile");
            return CohortSyncCli.FAILED;
        }
        cohorts.finishReconcile(ref, epoch);
        doc.put("outcome", "not marked retired: Mixpanel called for the cohort meanwhile");
        out.println("not marked retired: Mixpanel called for this cohort while the retirement ran (its export is"
                + " still on?). The users it listed kept their trait. " + line(tally) + ". Check the cohort in"
                + " Mixpanel; retire again once its export is off.");
        return CohortSyncCli.FAILED;
    }

    /** Exits every current member, shard after shard. @return why it stopped early, if it did */
    private Optional<String> exitAll(CohortRef ref, long epoch, Tally tally) {
        int batch = limiter.batch(pageSize);
        // Members are not counted ahead (that would read the cohort twice): the total is shards.
        try (ProgressReporter.Progress shown = progress.start("retire", Shards.COUNT, "shards", "members exited")) {
            for (int shard = 0; shard < Shards.COUNT; shard++) {
                String cursor = null;
                do {
                    // A full sync may complete while a large cohort retires: its epoch supersedes this one.
                    CohortState state = cohorts.load(ref).orElseThrow();
                    if (state.epoch() != epoch || !state.reconciling()) {
                        return Optional.of("the cohort moved on (a full sync completed: epoch " + state.epoch()
                                + "); nothing more exited");
                    }
                    MembershipStore.ScanPage page = members.scan(ref, shard, null, null, cursor, batch);
                    List<String> selected = new ArrayList<>();
                    Map<String, Membership> stored = new HashMap<>();
                    for (Map.Entry<String, Membership> item : page.items()) {
                        stored.put(item.getKey(), item.getValue());
                        if (item.getValue().member()) {
                            tally.members++;
                            selected.add(item.getKey());
                        }
                    }
                    exit(ref, state, epoch, selected, stored, tally);
                    shown.update(shard, tally.exited);
                    cursor = page.next();
                } while (cursor != null);
                shown.update(shard + 1, tally.exited);
            }
        }
        return Optional.empty();
    }

    /** The reconciler's exit write: enqueue, then commit where the user was not listed since the retirement. */
    private void exit(CohortRef ref, CohortState state, long epoch, List<String> ids, Map<String, Membership> stored,
                      Tally tally) {
        List<String> pending = ids;
        Map<String, Membership> now = stored;
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            List<Change> changes = new ArrayList<>();
            for (String id : pending) {
                Membership m = now.getOrDefault(id, Membership.ABSENT);
                if (m.member() && m.listedEpoch() < epoch) {
                    changes.add(new Change(id, m, m.next(false).stamped(state.nameVersion(), 0),
                            state.previousNameFor(m.nameVersion()).orElse(null)));
                } else if (m.member()) {
                    tally.kept++;
                }
            }
            if (changes.isEmpty()) {
                return;
            }
            limiter.acquire(changes.size());
            Instant observedAt = clock.instant();
            queue.enqueueDelayed(changes.stream().map(c -> Delta.of(ref, state.name(), c, observedAt)).toList(),
                    DELTA_DELAY);
            Set<String> lost = members.commitUnlisted(ref, changes, epoch);
            tally.exited += changes.size() - lost.size();
            if (lost.isEmpty()) {
                return;
            }
            pending = List.copyOf(lost);
            now = members.read(ref, pending, true);
        }
        throw new DependencyUnavailableException("DynamoDB", pending.size()
                + " memberships kept changing while retire exited them", null);
    }

    private long countMembers(CohortRef ref) {
        long count = 0;
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            String cursor = null;
            do {
                MembershipStore.ScanPage page = members.scan(ref, shard, null, null, cursor, pageSize);
                count += page.items().stream().filter(e -> e.getValue().member()).count();
                cursor = page.next();
            } while (cursor != null);
        }
        return count;
    }

    /** The {@code sc} the retirement started from, kept in its session id (0 if unreadable: a call then stops it). */
    static long syncsAtStart(String session) {
        Matcher m = SYNCS_AT_START.matcher(session == null ? "" : session);
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private static String line(Tally t) {
        return "exited " + Words.count(t.exited, "member") + " of " + t.members + " read"
                + (t.kept > 0 ? ", kept " + t.kept + " listed by Mixpanel meanwhile" : "");
    }

    private static final class Tally {
        long members;
        long exited;
        long kept;

        ObjectNode into(ObjectNode doc) {
            return doc.put("membersRead", members).put("exited", exited).put("kept", kept);
        }
    }
}
