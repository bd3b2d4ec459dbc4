package io.cohortsync.local;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code make local}'s console: each line the functions print (their JSON log lines and EMF blobs, exactly
 * what Lambda would put in CloudWatch) becomes one short human line, or nothing. It parses what the
 * functions wrote rather than being told by them, so the console cannot drift from the log:
 * <pre>
 * webhook     members         cohort 1457721  page 1/2  3 received  +3 -0  session INCOMPLETE  200  908 ms
 * sender      batch           2 messages  6 deltas  sent 5  stale 1  Segment 200×1  cohorts 1457721  134 ms
 * reconciler  EXIT_COUNT      cohort 1457721  shard 4  DONE  scanned 0  changed 0  COUNTING 1/16  467 ms
 * </pre>
 * EMF lines are dropped (their numbers are in the log line beside them); other log lines keep their
 * message and scalar fields; lines that are not JSON (the stack's own, the Segment sink's) pass as they
 * are. The log lines carry counts and cohort, session and request ids only, so this shows nothing more.
 */
final class ConsoleFormat {
    /** {@code LOG_FORMAT}: {@code text} (the default) or {@code json} (the lines as Lambda logs them). */
    enum LogFormat {
        TEXT, JSON;

        static LogFormat of(String value) {
            if (value == null || value.isBlank() || value.equals("text")) {
                return TEXT;
            }
            if (value.equals("json")) {
                return JSON;
            }
            throw new IllegalArgumentException("LOG_FORMAT must be text (the default) or json, was '" + value + "'");
        }
    }

    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Fields every log line has, or that only repeat what the short line says. */
    private static final Set<String> ENVELOPE = Set.of("timestamp", "level", "message", "function");

    private ConsoleFormat() {
    }

    /** The console line for one printed line: itself, its short form, or empty (dropped). */
    static Optional<String> format(String line) {
        if (!line.startsWith("{")) {
            return Optional.of(line);
        }
        JsonNode n;
        try {
            n = MAPPER.readTree(line);
        } catch (IOException notJson) {
            return Optional.of(line); // a line that only starts like JSON: shown as printed
        }
        if (n == null || !n.isObject()) {
            return Optional.of(line);
        }
        if (n.has("_aws")) {
            return Optional.empty(); // EMF: the same numbers as the log line of the invocation
        }
        String message = n.path("message").asText(null);
        String function = n.path("function").asText(null);
        if (message == null || function == null) {
            return Optional.of(line);
        }
        return Optional.of(switch (message) {
            case "webhook handled" -> webhook(n);
            case "sender batch handled" -> sender(n);
            case "reconcile job handled" -> reconciler(n);
            default -> other(function, n);
        });
    }

    /** {@code webhook  members  cohort 1457721  page 1/2  3 received  +3 -0  session INCOMPLETE  200  908 ms}. */
    static String webhook(JsonNode n) {
        List<String> parts = new ArrayList<>();
        parts.add(n.path("action").asText("unknown"));
        if (n.has("cohortId")) {
            parts.add("cohort " + n.path("cohortId").asText());
            parts.add("page " + n.path("page").asInt() + "/" + n.path("totalPages").asInt());
            parts.add(n.path("membersReceived").asInt() + " received");
        }
        if (n.path("membersSkipped").asInt() > 0) {
            parts.add(n.path("membersSkipped").asInt() + " skipped");
        }
        if (n.has("enters")) {
            parts.add("+" + n.path("enters").asInt() + " -" + n.path("exits").asInt());
        }
        if (n.path("renameQueued").asBoolean()) {
            parts.add("rename queued");
        }
        String session = n.path("session").asText("NONE");
        if (!session.equals("NONE")) {
            parts.add("session " + session);
        }
        parts.add(Integer.toString(n.path("status").asInt()));
        if (n.has("errorMessage")) {
            parts.add(n.path("errorMessage").asText());
        }
        parts.add(millis(n));
        return line("webhook", parts);
    }

    /** {@code sender  batch  2 messages  6 deltas  sent 5  stale 1  Segment 200×1  cohorts 1457721  134 ms}. */
    static String sender(JsonNode n) {
        List<String> parts = new ArrayList<>();
        parts.add("batch");
        parts.add(count(n.path("records").asLong(), "message"));
        parts.add(count(n.path("deltas").asLong(), "delta"));
        parts.add(n.path("dryRun").asBoolean() ? "would send " + n.path("wouldSend").asLong() : "sent " + n.path("sent").asLong());
        for (String field : List.of("stale", "duplicates", "clearedOldNames", "neverCommitted", "requeued", "rejected",
                "deadLettered", "poison", "failures", "retries", "splits")) {
            long v = n.path(field).asLong();
            if (v > 0) {
                parts.add(field + " " + v);
            }
        }
        JsonNode byStatus = n.path("segmentRequestsByStatus");
        if (byStatus.isObject() && !byStatus.isEmpty()) {
            StringBuilder s = new StringBuilder("Segment");
            for (Iterator<Map.Entry<String, JsonNode>> it = byStatus.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                s.append(' ').append(e.getKey()).append('×').append(e.getValue().asLong());
            }
            parts.add(s.toString());
        }
        JsonNode cohorts = n.path("cohortIds");
        if (cohorts.isArray() && !cohorts.isEmpty()) {
            List<String> ids = new ArrayList<>();
            cohorts.forEach(c -> ids.add(c.asText()));
            parts.add((ids.size() == 1 ? "cohort " : "cohorts ") + String.join(",", ids));
        }
        if (n.has("exception")) {
            parts.add("failed: " + n.path("exception").asText());
        }
        parts.add(millis(n));
        return line("sender", parts);
    }

    /** {@code reconciler  EXIT_COUNT  cohort 1457721  shard 4  DONE  scanned 0  changed 0  COUNTING 1/16  467 ms}. */
    static String reconciler(JsonNode n) {
        List<String> parts = new ArrayList<>();
        parts.add(n.path("kind").asText("job"));
        parts.add("cohort " + n.path("cohortId").asText());
        parts.add("shard " + n.path("shard").asInt());
        parts.add(n.path("status").asText());
        parts.add("scanned " + n.path("scanned").asLong());
        parts.add("changed " + n.path("changed").asLong());
        if (n.has("decision")) {
            parts.add("decision " + n.path("decision").asText());
        }
        JsonNode total = n.path("total");
        if (total.isObject()) {
            String phase = total.path("phase").asText();
            int counted = total.path("shardsCounted").asInt();
            int done = total.path("shardsDone").asInt();
            parts.add(switch (phase) {
                case "COUNTING" -> phase + " " + counted + "/16";
                case "APPLY" -> phase + " " + done + "/16 done";
                default -> phase; // DONE, HELD: the whole piece of work is decided
            });
        }
        parts.add(millis(n));
        return line("reconciler", parts);
    }

    /** Any other log line: {@code sender  WARN  sync history not updated  cohortId=1457721 error=…}. */
    static String other(String function, JsonNode n) {
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-11s %-5s %s", function,
                n.path("level").asText(""), n.path("message").asText()));
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (!ENVELOPE.contains(e.getKey())) {
                s.append("  ").append(e.getKey()).append('=')
                        .append(e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
            }
        }
        return s.toString();
    }

    private static String line(String function, List<String> parts) {
        // The first part (action, "batch", kind) padded so that the counts of successive lines line up.
        return String.format(Locale.ROOT, "%-11s %-15s %s", function, parts.getFirst(),
                String.join("  ", parts.subList(1, parts.size())));
    }

    private static String millis(JsonNode n) {
        return String.format(Locale.ROOT, "%.0f ms", n.path("durationMs").asDouble());
    }

    private static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
