package io.cohortsync.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.Shards;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@code backfill}: re-sends the stored membership of cohorts to Segment through the normal path. Each
 * member becomes a delta equal to its stored state (version, membership, user id), so the sender's
 * check passes and sends it, marked with this run's resend token, so its messageId is new and Segment
 * does not drop it as a copy of the identify it already took. Queued like the webhook queues a page.
 */
final class BackfillCommand {
    /** Deltas per queue message: a Mixpanel page's worth, so the sender sees messages like normal traffic. */
    static final int DELTAS_PER_MESSAGE = 1_000;
    static final DateTimeFormatter TOKEN_TIME = DateTimeFormatter.ofPattern("uuuuMMdd'T'HHmmss.SSS'Z'")
            .withZone(ZoneOffset.UTC);
    private static final int MAX_COHORTS_NAMED = 20;

    /** What to backfill. @param cohort one cohort id, or null for every cohort of the project */
    record Request(String connection, String project, String cohort, String name, boolean includeExits,
                   boolean dryRun) {
        Request(String project, String cohort, String name, boolean includeExits, boolean dryRun) {
            this(CohortRef.DEFAULT_CONNECTION, project, cohort, name, includeExits, dryRun);
        }

    }

    private final CohortTable table;
    private final CohortStore cohorts;
    private final SqsDeltaQueue queue;
    private final RateLimiter limiter;
    private final Clock clock;
    private final Report out;
    private final ProgressReporter progress;

    /** @param cohorts the per-cohort items: each cohort's current name (renames followed) and layout */
    BackfillCommand(CohortTable table, CohortStore cohorts, SqsDeltaQueue queue, RateLimiter limiter, Clock clock,
                    Report out, ProgressReporter progress) {
        this.table = table;
        this.cohorts = cohorts;
        this.queue = queue;
        this.limiter = limiter;
        this.clock = clock;
        this.out = out;
        this.progress = progress;
    }

    static String token(Instant at) {
        return "backfill-" + TOKEN_TIME.format(at);
    }

    int run(Target target, Request request) throws SetupException {
        Instant observedAt = clock.instant();
        String token = token(observedAt);
        List<String> cohortIds = request.cohort() != null ? List.of(request.cohort()) : table.cohortIds(request.connection(), request.project());
        Map<CohortRef, String> cohorts = names(request, cohortIds);
        out.println("backfill " + token + (request.dryRun() ? " (dry run: nothing is queued)" : "") + " — "
                + target.where());
        out.println("  from state table: " + target.get(Resource.TABLE));
        out.println("  to delta queue:   " + target.get(Resource.DELTA_QUEUE));
        ObjectNode doc = out.document();
        doc.put("token", token).put("dryRun", request.dryRun()).put("table", target.get(Resource.TABLE))
                .put("deltaQueueUrl", target.get(Resource.DELTA_QUEUE)).put("connection", request.connection())
                .put("projectId", request.project()).put("includeExits", request.includeExits());
        ArrayNode done = doc.putArray("cohorts");
        if (cohorts.isEmpty()) {
            out.println("no cohort of project " + request.project() + " has members in the table: nothing to do");
            doc.set("total", json(new Tally()).put("cohorts", 0));
            return 0;
        }
        Tally total = new Tally();
        boolean complete = false;
        // Members are not counted ahead (that would read every cohort twice): the total is shards read.
        long[] shardsRead = {0};
        try (ProgressReporter.Progress shown = progress.start(request.dryRun() ? "backfill (dry run)" : "backfill",
                (long) cohorts.size() * Shards.COUNT, "shards", "deltas")) {
            for (Map.Entry<CohortRef, String> c : cohorts.entrySet()) {
                Tally tally = new Tally();
                List<Delta> chunk = new ArrayList<>();
                int chunkSize = limiter.batch(DELTAS_PER_MESSAGE);
                table.forEachPage(c.getKey(), request.includeExits(), shard -> {
                    shardsRead[0]++;
                    shown.update(shardsRead[0], total.members + total.exits);
                }, page -> {
                    for (Map.Entry<String, Membership> user : page.entrySet()) {
                        Membership m = user.getValue();
                        // Delta.current keeps the stored identity (user id, or anonymousId for an anonymous member).
                        chunk.add(Delta.current(c.getKey(), c.getValue(), user.getKey(), m, observedAt, token));
                        if (chunk.size() == chunkSize) {
                            queue(chunk, request.dryRun(), tally, total);
                            shown.update(shardsRead[0], total.members + total.exits);
                        }
                    }
                });
                queue(chunk, request.dryRun(), tally, total);
                shown.update(shardsRead[0], total.members + total.exits);
                out.println("  " + c.getKey().projectId() + "/" + c.getKey().cohortId() + " \"" + c.getValue() + "\": "
                        + line(tally, request));
                done.add(json(tally).put("cohortId", c.getKey().cohortId()).put("name", c.getValue()));
            }
            complete = true;
        } finally {
            doc.set("total", json(total).put("cohorts", done.size()));
            if (!complete) {
                out.println("stopped early (see the error below); queued until then: " + line(total, request)
                        + ". Running the backfill again re-sends everything under a new token, which is harmless.");
            }
        }
        out.println((request.dryRun() ? "would queue: " : "queued: ") + Words.count(cohorts.size(), "cohort") + ", "
                + line(total, request) + ".");
        if (!request.dryRun()) {
            out.println("The sender delivers them at its usual pace (SenderMaxConcurrency); members whose state"
                    + " changes meanwhile are dropped as stale. Their Segment messageIds are new (resend token " + token + ").");
        }
        return 0;
    }

    /**
     * The current name of each cohort, checked before anything is queued; and that each is in the sharded
     * layout (the only one read here), not still in an earlier version's or being migrated from it.
     */
    private Map<CohortRef, String> names(Request request, List<String> cohortIds) throws SetupException {
        Map<CohortRef, String> named = new LinkedHashMap<>();
        List<String> unnamed = new ArrayList<>();
        List<String> notMigrated = new ArrayList<>();
        for (String id : cohortIds) {
            CohortRef cohort = new CohortRef(request.connection(), request.project(), id);
            Optional<CohortState> state = cohorts.load(cohort);
            if (state.map(CohortState::migrating).orElse(false) || state.isEmpty() && table.hasLegacyState(cohort)) {
                notMigrated.add(id);
                continue;
            }
            Optional<String> stored = state.map(CohortState::name);
            if (stored.isPresent()) {
                if (request.name() != null && !request.name().equals(stored.get())) {
                    throw new SetupException("cohort " + id + " is stored as \"" + stored.get() + "\", not \""
                            + request.name() + "\": drop --name to use the stored name");
                }
                named.put(cohort, stored.get());
            } else if (request.name() != null) {
                named.put(cohort, request.name());
            } else {
                unnamed.add(id);
            }
        }
        if (!notMigrated.isEmpty()) {
            String which = request.cohort() != null ? "cohort " + request.cohort() + " of project " + request.project()
                    + " is" : Words.count(notMigrated.size(), "cohort") + " of project " + request.project() + " ("
                    + String.join(", ", notMigrated.subList(0, Math.min(notMigrated.size(), MAX_COHORTS_NAMED)))
                    + (notMigrated.size() > MAX_COHORTS_NAMED ? ", …" : "") + ") "
                    + (notMigrated.size() == 1 ? "is" : "are");
            throw new SetupException(which + " still stored in the layout of an earlier version: nothing queued. The"
                    + " next Mixpanel request for such a cohort has the reconciler move it (about a minute per million"
                    + " members); run the backfill once that is done");
        }
        if (unnamed.isEmpty()) {
            return named;
        }
        if (request.cohort() != null) {
            throw new SetupException("no name stored for cohort " + request.cohort() + " of project " + request.project()
                    + " (the trait is named after it): check the ids, then pass --name with the cohort's name in Mixpanel");
        }
        throw new SetupException("no name stored for " + Words.count(unnamed.size(), "cohort") + " of project "
                + request.project() + " (" + String.join(", ", unnamed.subList(0, Math.min(unnamed.size(), MAX_COHORTS_NAMED)))
                + (unnamed.size() > MAX_COHORTS_NAMED ? ", …" : "") + "): nothing queued; backfill those one at a time"
                + " with --cohort C --name NAME");
    }

    private void queue(List<Delta> chunk, boolean dryRun, Tally... tallies) {
        if (chunk.isEmpty()) {
            return;
        }
        List<String> bodies = DeltaCodec.encode(chunk, SqsDeltaQueue.MAX_MESSAGE_BYTES);
        if (!dryRun) {
            limiter.acquire(chunk.size());
            // No delay: the table already holds this state, there is no commit to wait for.
            queue.sendBodies(bodies, Duration.ZERO);
        }
        long members = chunk.stream().filter(Delta::member).count();
        for (Tally t : tallies) {
            t.members += members;
            t.exits += chunk.size() - members;
            t.messages += bodies.size();
        }
        chunk.clear();
    }

    private static String line(Tally t, Request request) {
        return Words.count(t.members, "member") + (request.includeExits() ? " + " + Words.count(t.exits, "exit") : "")
                + " in " + Words.count(t.messages, "message");
    }

    private static ObjectNode json(Tally t) {
        return JsonNodeFactory.instance.objectNode().put("members", t.members).put("exits", t.exits)
                .put("messages", t.messages);
    }

    private static final class Tally {
        long members;
        long exits;
        long messages;
    }
}
