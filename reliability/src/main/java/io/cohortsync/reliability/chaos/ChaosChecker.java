package io.cohortsync.reliability.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.domain.Membership;
import io.cohortsync.segment.MessageIds;
import io.cohortsync.testkit.SegmentStandIn;
import software.amazon.awssdk.services.sqs.model.Message;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The promises, checked once a schedule has quiesced (traffic stopped, the delta and the reconcile queue
 * both drained, the DLQs replayed), from three independent records: what Mixpanel reported
 * ({@link MixpanelSim.Report}s, certain or not), what the table holds, and what Segment accepted (decoded
 * through the driver's own {@link DeltaLedger}, never through the code under test).
 * <ol>
 *   <li>Convergence: the table holds, per (cohort, user), what Mixpanel last reported with a 2xx (or what
 *       a later, unanswered report may have set), and Segment's last accepted identify for that user
 *       carries exactly the table's version and membership; Segment's trait for the cohort's current
 *       name says the same, and the trait of every other name the cohort had is not true. Anything else
 *       is <b>lost</b> (or <b>old-name-still-true</b>).</li>
 *   <li>No stale overwrite: per (cohort, user), accepted versions only grow (<b>stale</b> otherwise). The
 *       sender's clearing messages (an old name's false on its own) are not versions and are left out.</li>
 *   <li>One messageId per change: two accepted messages for the same change (cohort, name, user,
 *       version, membership) under different ids are <b>duplicates without the same id</b>; an accepted
 *       message is decodable and says what its id stands for.</li>
 *   <li>Safe full syncs: every accepted exit (and entry) was reported by Mixpanel: an exit without a
 *       {@code remove_members} or a full session whose pages were all sent is unjustified.</li>
 *   <li>Nothing left half-done: no cohort still has an exit pass pending, a migration running, a member
 *       not yet announced under the current name, or items in the old layout.</li>
 * </ol>
 */
final class ChaosChecker {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChaosChecker() {
    }

    private record Accepted(String messageId, DeltaLedger.Entry entry) {
    }

    static void check(long seed, ChaosEnv env, List<MixpanelSim.Report> reports, List<MixpanelSim.Cohort> cohorts,
                      ChaosStats stats) {
        ChaosEnv.Table t = env.table();
        Map<String, Map<String, Membership>> table = t.rows();
        t.problems().forEach(p -> stats.violation(seed, "wrong-shard", p));
        if (t.legacyItems() > 0) {
            stats.violation(seed, "migration-unfinished", t.legacyItems() + " items still in the old layout");
        }
        List<JsonNode> accepted = env.segment.acceptedIdentifies();
        stats.add("identifies accepted", accepted.size());
        stats.add("segment duplicates dropped by messageId", env.segment.duplicates());
        long committed = table.values().stream().flatMap(m -> m.values().stream()).mapToLong(Membership::version).sum();
        stats.add("changes committed", committed);
        if (env.segment.droppedInvalid() > 0 || env.segment.droppedOverLimit() > 0) {
            stats.violation(seed, "segment-dropped", env.segment.droppedInvalid() + " invalid and "
                    + env.segment.droppedOverLimit() + " over-limit messages dropped by Segment");
        }
        String prefix = env.ledger.traitPrefix();

        // Decode every accepted identify through the ledger; per (cohort, user) in arrival order.
        Map<String, List<Accepted>> byUser = new LinkedHashMap<>();
        Map<String, Set<String>> idsByChange = new HashMap<>();
        Map<DeltaLedger.ChangeKey, Set<String>> namesByChange = new HashMap<>();
        long clearings = 0;
        for (JsonNode m : accepted) {
            String id = m.path("messageId").asText();
            DeltaLedger.Entry e = env.ledger.decode(id);
            if (e == null) {
                stats.violation(seed, "unknown-message", "Segment accepted a messageId no delta stands for: " + id);
                continue;
            }
            DeltaLedger.ChangeKey k = e.change();
            if (!k.user().equals(m.path("userId").asText()) || !says(m.path("traits"), e, prefix)) {
                stats.violation(seed, "message-content", "message " + id + " does not say what its change is");
            }
            String what = k + "|" + e.cohortName() + "|" + e.previousName() + "|" + e.clearing();
            Set<String> ids = idsByChange.computeIfAbsent(what, x -> new TreeSet<>());
            ids.add(id);
            if (ids.size() == 2) {
                stats.violation(seed, ChaosStats.DUPLICATE, "change " + k + " accepted under two messageIds");
            }
            if (e.clearing()) {
                clearings++;
                continue;
            }
            namesByChange.computeIfAbsent(k, x -> new TreeSet<>()).add(e.cohortName());
            byUser.computeIfAbsent(k.cohort().cohortId() + "|" + k.user(), x -> new ArrayList<>()).add(new Accepted(id, e));
        }
        stats.add("old names cleared on their own (stale rename deltas)", clearings);
        // Not a violation in itself (Segment drops an id it has seen), but how often the sender offered
        // Segment an older change of a user after a newer one: the situations the stale check is about.
        Map<String, Long> maxOffered = new HashMap<>();
        long backwards = 0;
        for (SegmentStandIn.RecordedRequest q : env.segment.requests()) {
            if (q.status() / 100 != 2) {
                continue;
            }
            for (JsonNode m : q.messages()) {
                DeltaLedger.Entry e = env.ledger.decode(m.path("messageId").asText());
                if (e != null && !e.clearing()) {
                    String key = e.change().cohort().cohortId() + "|" + e.change().user();
                    backwards += e.change().version() < maxOffered.getOrDefault(key, 0L) ? 1 : 0;
                    maxOffered.merge(key, e.change().version(), Math::max);
                }
            }
        }
        stats.add("older change offered to Segment after a newer one", backwards);
        long renamedResends = namesByChange.values().stream().filter(n -> n.size() > 1).count();
        stats.add("same change accepted under two cohort names", renamedResends);

        // No stale overwrite.
        stats.add("users with several changes accepted", byUser.values().stream().filter(l -> l.size() > 1).count());
        Map<String, Accepted> last = new HashMap<>();
        byUser.forEach((user, list) -> {
            long max = 0;
            for (Accepted a : list) {
                long v = a.entry().change().version();
                if (v < max) {
                    stats.violation(seed, ChaosStats.STALE, "version " + v + " accepted after version " + max
                            + " for " + user);
                }
                max = Math.max(max, v);
            }
            last.put(user, list.getLast());
        });

        // Segment ends with exactly what the table holds, and the table was never ahead of its queued deltas.
        Map<String, MixpanelSim.Cohort> byId = new HashMap<>();
        cohorts.forEach(c -> byId.put(c.id, c));
        Set<String> rowKeys = new HashSet<>();
        table.forEach((cohortId, rows) -> rows.forEach((user, row) -> {
            String key = cohortId + "|" + user;
            rowKeys.add(key);
            if (row.version() == 0) {
                return;
            }
            MixpanelSim.Cohort c = byId.get(cohortId);
            if (c == null || !env.ledger.isQueued(new DeltaLedger.ChangeKey(c.ref, user, row.version(), row.member()))) {
                stats.violation(seed, "committed-without-queued-delta", key + " holds " + row
                        + " but no delta for it was ever queued");
            }
            Accepted a = last.get(key);
            long sent = a == null ? 0 : a.entry().change().version();
            if (sent < row.version()) {
                stats.violation(seed, ChaosStats.LOST, key + " holds " + row + " but Segment's last accepted is "
                        + (a == null ? "nothing" : "version " + sent));
            } else if (sent > row.version()) {
                stats.violation(seed, "sent-uncommitted", key + " holds " + row + " but Segment accepted version " + sent);
            }
        }));
        last.keySet().stream().filter(k -> !rowKeys.contains(k)).forEach(k ->
                stats.violation(seed, "sent-uncommitted", "Segment accepted a change for " + k + " the table never held"));

        // The table holds what Mixpanel reported; every accepted value was reported.
        Map<String, List<MixpanelSim.Report>> byKey = new LinkedHashMap<>();
        for (MixpanelSim.Report r : reports) {
            byKey.computeIfAbsent(r.cohortId() + "|" + r.user(), x -> new ArrayList<>()).add(r);
        }
        Set<String> keys = new TreeSet<>(byKey.keySet());
        keys.addAll(rowKeys);
        for (String key : keys) {
            List<MixpanelSim.Report> rs = byKey.getOrDefault(key, List.of());
            String[] parts = key.split("\\|", 2);
            Membership row = table.getOrDefault(parts[0], Map.of()).getOrDefault(parts[1], Membership.ABSENT);
            Set<Boolean> allowed = allowed(rs);
            if (!allowed.contains(row.member())) {
                stats.violation(seed, ChaosStats.LOST, key + " ends " + (row.member() ? "in" : "out")
                        + " but Mixpanel's last answered report says " + (allowed.contains(true) ? "in" : "out"));
            }
            for (Accepted a : byUser.getOrDefault(key, List.of())) {
                boolean member = a.entry().change().member();
                if (rs.stream().noneMatch(r -> r.member() == member)) {
                    stats.violation(seed, member ? "unjustified-enter" : "unjustified-exit", key
                            + " was sent " + (member ? "in" : "out") + " but Mixpanel never reported that"
                            + (member ? "" : " (no remove_members and no full session with every page sent)"));
                }
            }
        }

        Map<String, Map<String, JsonNode>> traits = env.segment.finalTraits();
        for (MixpanelSim.Cohort c : cohorts) {
            checkCohort(seed, env, c, table.getOrDefault(c.id, Map.of()), traits, stats);
        }
        explain(env, reports, table, stats);
    }

    /** For a failing schedule: the full story of each (cohort, user) a violation names (at most 20). */
    private static void explain(ChaosEnv env, List<MixpanelSim.Report> reports, Map<String, Map<String, Membership>> table,
                                ChaosStats stats) {
        Set<String> keys = new TreeSet<>();
        Pattern p = Pattern.compile("(c\\d+)\\|([^ ]+@example\\.com)");
        for (ChaosStats.Violation v : stats.violations()) {
            Matcher m = p.matcher(v.detail());
            if (m.find() && keys.size() < 20) {
                keys.add(m.group(1) + "|" + m.group(2));
            }
        }
        List<JsonNode> accepted = env.segment.acceptedIdentifies();
        for (String key : keys) {
            String[] parts = key.split("\\|", 2);
            StringBuilder b = new StringBuilder(key).append('\n');
            b.append("  table: ").append(table.getOrDefault(parts[0], Map.of()).get(parts[1])).append('\n');
            env.ledger.history(parts[0], parts[1]).forEach(h -> b.append("  handed over: ").append(h).append('\n'));
            for (JsonNode m : accepted) {
                if (m.path("userId").asText().equals(parts[1])) {
                    DeltaLedger.Entry e = env.ledger.decode(m.path("messageId").asText());
                    if (e != null && e.change().cohort().cohortId().equals(parts[0])) {
                        b.append("  Segment accepted: v").append(e.change().version()).append(e.clearing() ? " clearing" : "")
                                .append(" traits ").append(m.path("traits")).append('\n');
                    }
                }
            }
            reports.stream().filter(r -> (r.cohortId() + "|" + r.user()).equals(key)).forEach(r -> b
                    .append("  Mixpanel reported: ").append(r.member() ? "in" : "out").append(r.certain() ? "" : " (uncertain)")
                    .append('\n'));
            stats.diagnostic(b.toString());
        }
    }

    /** Whether an identify's traits are exactly what its ledger entry stands for. */
    private static boolean says(JsonNode traits, DeltaLedger.Entry e, String prefix) {
        Map<String, Boolean> expected = new HashMap<>();
        if (e.previousName() != null) {
            expected.put(prefix + e.previousName(), false);
        }
        if (!e.clearing()) {
            expected.put(prefix + e.cohortName(), e.change().member());
        }
        if (traits.size() != expected.size()) {
            return false;
        }
        for (Map.Entry<String, Boolean> x : expected.entrySet()) {
            JsonNode v = traits.get(x.getKey());
            if (v == null || !v.isBoolean() || v.booleanValue() != x.getValue()) {
                return false;
            }
        }
        return true;
    }

    /**
     * A cohort at rest: stored under a name Mixpanel sent, nothing pending, every member announced under
     * that name; in Segment, that name's trait matches the table and no other name of the cohort is true.
     */
    private static void checkCohort(long seed, ChaosEnv env, MixpanelSim.Cohort c, Map<String, Membership> rows,
                                    Map<String, Map<String, JsonNode>> traits, ChaosStats stats) {
        Optional<CohortState> loaded = env.cohortState(c.ref);
        if (loaded.isEmpty()) {
            if (!rows.isEmpty()) {
                stats.violation(seed, "cohort-item-missing", c.id + " has members but no cohort item");
            }
            return;
        }
        CohortState state = loaded.get();
        if (!allowedNames(List.copyOf(c.nameReports)).contains(state.name())) {
            stats.violation(seed, "name-not-current", c.id + " is stored at name version " + state.nameVersion()
                    + " under a name Mixpanel's last answered request did not carry");
        }
        if (state.reconciling()) {
            stats.violation(seed, "exit-pass-never-finished", c.id + " still has the exit pass of epoch "
                    + state.epoch() + " pending after both queues drained");
        }
        if (state.migrating()) {
            stats.violation(seed, "migration-never-finished", c.id + " is still migrating after both queues drained");
        }
        if (state.epoch() > 0) {
            stats.add("exit passes finished (epochs reached)", state.epoch());
        }
        stats.add("name versions reached beyond the first", state.nameVersion() - 1);
        long unannounced = rows.values().stream().filter(m -> m.member() && m.nameVersion() != state.nameVersion())
                .count();
        if (unannounced > 0) {
            stats.violation(seed, "rename-not-announced", unannounced + " members of " + c.id
                    + " were last announced under an older name version than " + state.nameVersion());
        }
        String prefix = env.ledger.traitPrefix();
        Set<String> names = new TreeSet<>(env.ledger.names(c.id));
        names.addAll(c.namePool);
        Set<String> users = new TreeSet<>(rows.keySet());
        for (String u : List.copyOf(c.universe)) {
            Map<String, JsonNode> own = traits.getOrDefault(u, Map.of());
            if (names.stream().anyMatch(n -> own.containsKey(prefix + n))) {
                users.add(u);
            }
        }
        String current = state.name();
        for (String u : users) {
            Map<String, JsonNode> own = traits.getOrDefault(u, Map.of());
            boolean member = rows.getOrDefault(u, Membership.ABSENT).member();
            JsonNode now = own.get(prefix + current);
            boolean shown = now != null && now.isBoolean() && now.booleanValue();
            if (shown != member) {
                stats.violation(seed, ChaosStats.LOST, c.id + "|" + u + " is " + (member ? "in" : "out")
                        + " but Segment's trait of the cohort's current name is " + (now == null ? "unset" : now));
            }
            for (String old : names) {
                JsonNode v = own.get(prefix + old);
                if (!old.equals(current) && v != null && v.isBoolean() && v.booleanValue()) {
                    stats.violation(seed, "old-name-still-true", c.id + "|" + u + " still has an old name's trait"
                            + " true in Segment (the cohort was renamed)");
                }
            }
        }
    }

    /**
     * What a user may end as: the last report answered 2xx (never reported: out), or the value of any
     * later report Mixpanel gave up on, since that one may have taken effect before its answer was lost.
     */
    static Set<Boolean> allowed(List<MixpanelSim.Report> reports) {
        int lastCertain = -1;
        for (int i = 0; i < reports.size(); i++) {
            if (reports.get(i).certain()) {
                lastCertain = i;
            }
        }
        Set<Boolean> allowed = new HashSet<>();
        allowed.add(lastCertain >= 0 && reports.get(lastCertain).member());
        for (int i = lastCertain + 1; i < reports.size(); i++) {
            allowed.add(reports.get(i).member());
        }
        return allowed;
    }

    /** The names a cohort may be stored under: the last one answered 2xx, or any sent later and given up on. */
    static Set<String> allowedNames(List<MixpanelSim.NameReport> reports) {
        int lastCertain = -1;
        for (int i = 0; i < reports.size(); i++) {
            if (reports.get(i).certain()) {
                lastCertain = i;
            }
        }
        Set<String> allowed = new HashSet<>();
        for (int i = Math.max(0, lastCertain); i < reports.size(); i++) {
            allowed.add(reports.get(i).name());
        }
        return allowed;
    }

    /** SQS message ids the sender logged as about to be redriven after maxReceiveCount (with reasons). */
    static Set<String> redrivesLogged(String output) {
        Set<String> ids = new HashSet<>();
        for (String line : output.split("\n")) {
            if (!line.contains("reached maxReceiveCount")) {
                continue;
            }
            JsonNode json = json(line);
            if (json != null && json.path("reasons").size() > 0) {
                json.path("sqsMessageIds").forEach(id -> ids.add(id.asText()));
            }
        }
        return ids;
    }

    /** SQS message ids of reconcile jobs whose failure the reconciler logged with a reason. */
    static Set<String> reconcileFailuresLogged(String output) {
        Set<String> ids = new HashSet<>();
        for (String line : output.split("\n")) {
            if (!line.contains("reconcile job failed")) {
                continue;
            }
            JsonNode json = json(line);
            if (json != null && (json.hasNonNull("error") || json.hasNonNull("exception"))) {
                ids.add(json.path("sqsMessageId").asText());
            }
        }
        return ids;
    }

    /**
     * The reconciler turns every failure into "the job comes back"; one that is a RuntimeException other
     * than a dependency failure is a bug of ours (its log line names the class and first frame).
     */
    static void checkReconcilerLog(long seed, String output, ChaosStats stats) {
        Set<String> seen = new HashSet<>();
        for (String line : output.split("\n")) {
            if (!line.contains("reconcile job failed") && !line.contains("full sync held")) {
                continue;
            }
            JsonNode json = json(line);
            if (json == null) {
                continue;
            }
            if (line.contains("full sync held")) {
                stats.count("exit passes held by the mass-exit guard");
            } else if (json.hasNonNull("exception")
                    && seen.add(json.path("exception").asText() + " " + json.path("at").asText())) {
                stats.violation(seed, "reconciler-bug", json.path("kind").asText() + " job failed with "
                        + json.path("exception").asText() + " at " + json.path("at").asText());
            }
        }
    }

    /** How often the race rule was exercised: members a request listed (and marked) while an exit pass was pending. */
    static void countMarks(String output, ChaosStats stats) {
        long marked = 0;
        long requests = 0;
        for (String line : output.split("\n")) {
            if (line.contains("\"marked\"") && line.contains("webhook handled")) {
                JsonNode json = json(line);
                if (json != null && json.path("marked").asLong() > 0) {
                    marked += json.path("marked").asLong();
                    requests++;
                }
            }
        }
        stats.add("members marked while an exit pass was pending", marked);
        stats.add("requests that marked members (a pass pending)", requests);
    }

    private static JsonNode json(String line) {
        try {
            JsonNode json = JSON.readTree(line);
            return json != null && json.isObject() ? json : null;
        } catch (Exception notJson) {
            return null; // not one of the functions' JSON lines
        }
    }

    /**
     * A message Segment refused on its own (400 for a one-message batch) can never be sent: unless a
     * newer change superseded it, or a retry got it accepted after all, it must be in the DLQ.
     */
    static void checkRejectedWereDeadLettered(long seed, ChaosEnv env, List<Message> letters, ChaosStats stats) {
        Set<String> deadLettered = new HashSet<>();
        for (Message m : letters) {
            try {
                for (Delta d : DeltaCodec.decode(m.body())) {
                    deadLettered.add(MessageIds.of(d, env.ledger.traitPrefix()));
                    if (d.previousName() != null) {
                        deadLettered.add(MessageIds.clearing(d, env.ledger.traitPrefix(), null));
                    }
                }
            } catch (MalformedDeltaException poison) {
                // Counted by the caller.
            }
        }
        Set<String> accepted = new HashSet<>();
        env.segment.acceptedIdentifies().forEach(m -> accepted.add(m.path("messageId").asText()));
        Map<String, Map<String, Membership>> table = env.table().rows();
        for (SegmentStandIn.RecordedRequest q : env.segment.requests()) {
            if (q.status() != 400 || q.messages().size() != 1) {
                continue;
            }
            String id = q.messages().getFirst().path("messageId").asText();
            DeltaLedger.Entry e = env.ledger.decode(id);
            if (e == null || deadLettered.contains(id) || accepted.contains(id)) {
                continue;
            }
            Membership now = table.getOrDefault(e.change().cohort().cohortId(), Map.of())
                    .getOrDefault(e.change().user(), Membership.ABSENT);
            if (now.version() == e.change().version() || e.clearing()) {
                stats.violation(seed, "rejected-not-dead-lettered", "message " + id
                        + " was refused alone, is still current, and is neither accepted nor in the DLQ");
            }
        }
    }
}
