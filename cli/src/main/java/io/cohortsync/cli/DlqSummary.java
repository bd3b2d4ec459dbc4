package io.cohortsync.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;

import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Dead-letter messages counted by reason: messages, items (deltas, or reconcile jobs), undecodable
 * messages, items per cohort and, for jobs, per kind. Only counts, redacted reasons and cohort ids:
 * never a distinct id, user id or e-mail address.
 */
final class DlqSummary {
    /** What a message without a {@code reason} is: SQS moved it after maxReceiveCount failed receives. */
    static final String REDRIVEN = "redriven by SQS after maxReceiveCount";
    /** Cohorts listed per reason before "… and N more". */
    static final int MAX_COHORTS_SHOWN = 20;

    private final QueuePair pair;
    private final Map<String, Group> byReason = new HashMap<>();
    private int messages;
    private int items;

    DlqSummary(QueuePair pair) {
        this.pair = pair;
    }

    DlqSummary() {
        this(QueuePair.DELTAS);
    }

    void add(DlqMessage m) {
        String reason = m.reason() == null ? REDRIVEN
                : Redaction.masked(m.reason(), m.decodable() ? m.contents().ids() : Set.of());
        Group g = byReason.computeIfAbsent(reason, Group::new);
        g.messages++;
        messages++;
        if (m.decodable()) {
            g.items += m.items();
            items += m.items();
            for (CohortRef c : m.contents().cohorts()) {
                g.cohorts.merge(c, 1, Integer::sum);
            }
            for (String kind : m.contents().kinds()) {
                g.kinds.merge(kind, 1, Integer::sum);
            }
        } else {
            g.undecodable++;
        }
    }

    int messages() {
        return messages;
    }

    /** Deltas (or jobs) over all messages. */
    int items() {
        return items;
    }

    boolean isEmpty() {
        return messages == 0;
    }

    /** Distinct cohorts over all reasons. */
    int cohorts() {
        return (int) byReason.values().stream().flatMap(g -> g.cohorts.keySet().stream()).distinct().count();
    }

    /** "3 messages, 4 deltas, 2 cohorts" (or jobs). */
    String totals() {
        return Words.count(messages, "message") + ", " + Words.count(items, pair.item) + ", "
                + Words.count(cohorts(), "cohort");
    }

    /** "12 messages (16 deltas, 2 cohorts)" (or jobs). */
    String moved() {
        return Words.count(messages, "message") + " (" + Words.count(items, pair.item) + ", "
                + Words.count(cohorts(), "cohort") + ")";
    }

    /**
     * {@code {"messages":…, "<item>s":…, "cohorts":…, "byReason":[{"reason", "messages", "<item>s",
     * "undecodable", "cohorts":[{"connection", "projectId", "cohortId", "<item>s"}], "kinds":{…}}]}}: the same
     * as {@link #print}, every cohort included.
     */
    void toJson(ObjectNode into) {
        into.put("messages", messages).put(pair.item + "s", items).put("cohorts", cohorts());
        ArrayNode reasons = into.putArray("byReason");
        for (Group g : groups()) {
            ObjectNode r = reasons.addObject().put("reason", g.reason).put("messages", g.messages)
                    .put(pair.item + "s", g.items).put("undecodable", g.undecodable);
            ArrayNode cohorts = r.putArray("cohorts");
            for (Map.Entry<CohortRef, Integer> c : sortedCohorts(g)) {
                cohorts.addObject().put("connection", c.getKey().connection()).put("projectId", c.getKey().projectId())
                        .put("cohortId", c.getKey().cohortId()).put(pair.item + "s", c.getValue());
            }
            if (!g.kinds.isEmpty()) {
                ObjectNode kinds = r.putObject("kinds");
                g.kinds.forEach(kinds::put);
            }
        }
    }

    private List<Group> groups() {
        return byReason.values().stream()
                .sorted(Comparator.comparingInt((Group g) -> -g.messages).thenComparing(g -> g.reason)).toList();
    }

    private static List<Map.Entry<CohortRef, Integer>> sortedCohorts(Group g) {
        return g.cohorts.entrySet().stream()
                .sorted(Map.Entry.<CohortRef, Integer>comparingByValue().reversed()
                        .thenComparing(e -> e.getKey().projectId()).thenComparing(e -> e.getKey().cohortId()))
                .toList();
    }

    /** One block per reason, most messages first; cohorts as project/cohort with their item counts. */
    void print(Report out, String indent) {
        for (Group g : groups()) {
            out.println(indent + "reason: " + g.reason);
            out.println(indent + "  " + Words.count(g.messages, "message") + ", " + Words.count(g.items, pair.item)
                    + (g.undecodable > 0 ? ", " + g.undecodable + " not " + pair.message : ""));
            List<Map.Entry<CohortRef, Integer>> cohorts = sortedCohorts(g);
            if (!cohorts.isEmpty()) {
                StringBuilder line = new StringBuilder(indent + "  cohorts (project/cohort: " + pair.item + "s): ");
                for (int i = 0; i < Math.min(cohorts.size(), MAX_COHORTS_SHOWN); i++) {
                    CohortRef c = cohorts.get(i).getKey();
                    line.append(i == 0 ? "" : ", ").append(c.projectId()).append('/').append(c.cohortId())
                            .append(": ").append(cohorts.get(i).getValue());
                }
                if (cohorts.size() > MAX_COHORTS_SHOWN) {
                    line.append(", … and ").append(cohorts.size() - MAX_COHORTS_SHOWN).append(" more");
                }
                out.println(line.toString());
            }
            if (!g.kinds.isEmpty()) {
                out.println(indent + "  kinds: " + String.join(", ",
                        g.kinds.entrySet().stream().map(e -> e.getKey() + ": " + e.getValue()).toList()));
            }
        }
    }

    private static final class Group {
        final String reason;
        final Map<CohortRef, Integer> cohorts = new HashMap<>();
        final Map<String, Integer> kinds = new TreeMap<>();
        int messages;
        int items;
        int undecodable;

        Group(String reason) {
            this.reason = reason;
        }
    }
}
