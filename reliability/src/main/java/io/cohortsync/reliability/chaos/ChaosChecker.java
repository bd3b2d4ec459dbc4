package io.cohortsync.reliability.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.Set;
import java.util.TreeSet;

/**
 * The promises, checked once a schedule has quiesced, from three independent records: what Mixpanel
 * reported ({@link MixpanelSim.Report}s, certain or not), what the table holds, and what Segment
 * accepted (decoded through the driver's own {@link DeltaLedger}, never through the code under test).
 * <ol>
 *   <li>Convergence: the table holds, per (cohort, user), what Mixpanel last reported with a 2xx (or what
 *       a later, unanswered report may have set), and Segment's last accepted identify for that user
 *       carries exactly the table's version and membership. Anything else is <b>lost</b>.</li>
 *   <li>No stale overwrite: per (cohort, user), accepted versions only grow (<b>stale</b> otherwise).</li>
 *   <li>One messageId per change: two accepted messages for the same change (cohort, name, user,
 *       version, membership) under different ids are <b>duplicates without the same id</b>; an accepted
 *       message is decodable and says what its id stands for.</li>
 *   <li>Safe full syncs: every accepted exit (and entry) was reported by Mixpanel: an exit without a
 *       {@code remove_members} or a full session whose pages were all sent is unjustified.</li>
 * </ol>
 */
final class ChaosChecker {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ChaosChecker() {
    }

    private record Accepted(String messageId, DeltaLedger.Entry entry) {
    }

    static void check(long seed, ChaosEnv env, List<MixpanelSim.Report> reports, ChaosStats stats) {
        Map<String, Map<String, Membership>> table = env.table();
        List<JsonNode> accepted = env.segment.acceptedIdentifies();
        stats.add("identifies accepted", accepted.size());
        stats.add("segment duplicates dropped by messageId", env.segment.duplicates());
        long committed = table.values().stream().flatMap(m -> m.values().stream()).mapToLong(Membership::version).sum();
        stats.add("changes committed", committed);
        if (env.segment.droppedInvalid() > 0 || env.segment.droppedOverLimit() > 0) {
            stats.violation(seed, "segment-dropped", env.segment.droppedInvalid() + " invalid and "
                    + env.segment.droppedOverLimit() + " over-limit messages dropped by Segment");
        }

        // Decode every accepted identify through the ledger; per (cohort, user) in arrival order.
        Map<String, List<Accepted>> byUser = new LinkedHashMap<>();
        Map<String, Set<String>> idsByChange = new HashMap<>();
        Map<DeltaLedger.ChangeKey, Set<String>> namesByChange = new HashMap<>();
        for (JsonNode m : accepted) {
            String id = m.path("messageId").asText();
            DeltaLedger.Entry e = env.ledger.decode(id);
            if (e == null) {
                stats.violation(seed, "unknown-message", "Segment accepted a messageId no delta stands for: " + id);
                continue;
            }
            DeltaLedger.ChangeKey k = e.change();
            String trait = env.ledger.traitPrefix() + e.cohortName();
            JsonNode traits = m.path("traits");
            if (!k.user().equals(m.path("userId").asText()) || traits.size() != 1 || !traits.has(trait)
                    || !traits.get(trait).isBoolean() || traits.get(trait).booleanValue() != k.member()) {
                stats.violation(seed, "message-content", "message " + id + " does not say what its change is");
            }
            String changeWithName = k + "|" + e.cohortName();
            Set<String> ids = idsByChange.computeIfAbsent(changeWithName, x -> new TreeSet<>());
            ids.add(id);
            if (ids.size() == 2) {
                stats.violation(seed, ChaosStats.DUPLICATE, "change " + k + " accepted under two messageIds");
            }
            namesByChange.computeIfAbsent(k, x -> new TreeSet<>()).add(e.cohortName());
            byUser.computeIfAbsent(k.cohort().cohortId() + "|" + k.user(), x -> new ArrayList<>()).add(new Accepted(id, e));
        }
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
                if (e != null) {
                    String key = e.change().cohort().cohortId() + "|" + e.change().user();
                    backwards += e.change().version() < maxOffered.getOrDefault(key, 0L) ? 1 : 0;
                    maxOffered.merge(key, e.change().version(), Math::max);
                }
            }
        }
        stats.add("older change offered to Segment after a newer one", backwards);
        long renamedResends = namesByChange.values().stream().filter(n -> n.size() > 1).count();
        stats.add("same change accepted under two cohort names (renamed)", renamedResends);

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
        Set<String> rowKeys = new HashSet<>();
        table.forEach((cohortId, rows) -> rows.forEach((user, row) -> {
            String key = cohortId + "|" + user;
            rowKeys.add(key);
            if (row.version() == 0) {
                return;
            }
            if (!env.ledger.isQueued(new DeltaLedger.ChangeKey(ChaosEnv.cohort(cohortId), user, row.version(),
                    row.member()))) {
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

    /** SQS message ids the sender logged as about to be redriven after maxReceiveCount (with reasons). */
    static Set<String> redrivesLogged(String output) {
        Set<String> ids = new HashSet<>();
        for (String line : output.split("\n")) {
            if (!line.contains("reached maxReceiveCount")) {
                continue;
            }
            try {
                JsonNode json = JSON.readTree(line);
                if (json.path("reasons").size() > 0) {
                    json.path("sqsMessageIds").forEach(id -> ids.add(id.asText()));
                }
            } catch (Exception notJson) {
                // Not one of the sender's JSON lines.
            }
        }
        return ids;
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
                }
            } catch (MalformedDeltaException poison) {
                // Counted by the caller.
            }
        }
        Set<String> accepted = new HashSet<>();
        env.segment.acceptedIdentifies().forEach(m -> accepted.add(m.path("messageId").asText()));
        Map<String, Map<String, Membership>> table = env.table();
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
            if (now.version() == e.change().version()) {
                stats.violation(seed, "rejected-not-dead-lettered", "message " + id
                        + " was refused alone, is still current, and is neither accepted nor in the DLQ");
            }
        }
    }
}
