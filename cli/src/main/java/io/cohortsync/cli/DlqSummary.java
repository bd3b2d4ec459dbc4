package io.cohortsync.cli;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;

import java.io.PrintStream;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Dead-letter messages counted by reason: messages, deltas, undecodable messages, and deltas per cohort.
 * Only counts, redacted reasons and cohort ids: never a distinct id, user id or e-mail address.
 */
final class DlqSummary {
    /** What a message without a {@code reason} is: SQS moved it after maxReceiveCount failed receives. */
    static final String REDRIVEN = "redriven by SQS after maxReceiveCount";
    /** Cohorts listed per reason before "… and N more". */
    static final int MAX_COHORTS_SHOWN = 20;

    private final Map<String, Group> byReason = new HashMap<>();
    private int messages;
    private int deltas;

    void add(DlqMessage m) {
        String reason = m.reason() == null ? REDRIVEN : Redaction.reason(m.reason(), m.deltas());
        Group g = byReason.computeIfAbsent(reason, Group::new);
        g.messages++;
        messages++;
        if (m.decodable()) {
            g.deltas += m.deltas().size();
            deltas += m.deltas().size();
            for (Delta d : m.deltas()) {
                g.cohorts.merge(d.cohort(), 1, Integer::sum);
            }
        } else {
            g.undecodable++;
        }
    }

    int messages() {
        return messages;
    }

    int deltas() {
        return deltas;
    }

    boolean isEmpty() {
        return messages == 0;
    }

    /** Distinct cohorts over all reasons. */
    int cohorts() {
        return (int) byReason.values().stream().flatMap(g -> g.cohorts.keySet().stream()).distinct().count();
    }

    /** One block per reason, most messages first; cohorts as project/cohort with their delta counts. */
    void print(PrintStream out, String indent) {
        List<Group> groups = byReason.values().stream()
                .sorted(Comparator.comparingInt((Group g) -> -g.messages).thenComparing(g -> g.reason)).toList();
        for (Group g : groups) {
            out.println(indent + "reason: " + g.reason);
            out.println(indent + "  " + Words.count(g.messages, "message") + ", " + Words.count(g.deltas, "delta")
                    + (g.undecodable > 0 ? ", " + g.undecodable + " not a delta message" : ""));
            List<Map.Entry<CohortRef, Integer>> cohorts = g.cohorts.entrySet().stream()
                    .sorted(Map.Entry.<CohortRef, Integer>comparingByValue().reversed()
                            .thenComparing(e -> e.getKey().projectId()).thenComparing(e -> e.getKey().cohortId()))
                    .toList();
            if (!cohorts.isEmpty()) {
                StringBuilder line = new StringBuilder(indent + "  cohorts (project/cohort: deltas): ");
                for (int i = 0; i < Math.min(cohorts.size(), MAX_COHORTS_SHOWN); i++) {
                    CohortRef c = cohorts.get(i).getKey();
                    line.append(i == 0 ? "" : ", ").append(c.projectId()).append('/').append(c.cohortId())
                            .append(": ").append(cohorts.get(i).getValue());
                }
                if (cohorts.size() > MAX_COHORTS_SHOWN) {
                    line.append(", … and ").append(cohorts.size() - MAX_COHORTS_SHOWN).append(" more");
                }
                out.println(line);
            }
        }
    }

    private static final class Group {
        final String reason;
        final Map<CohortRef, Integer> cohorts = new HashMap<>();
        int messages;
        int deltas;
        int undecodable;

        Group(String reason) {
            this.reason = reason;
        }
    }
}
