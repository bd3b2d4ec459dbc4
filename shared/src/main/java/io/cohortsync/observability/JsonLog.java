package io.cohortsync.observability;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.PrintStream;
import java.time.Clock;
import java.util.Map;
import java.util.Objects;

/**
 * One JSON object per line, stable field names ({@code level}, {@code message}, {@code function},
 * then the caller's fields). Callers pass counts and cohort/session ids only: never a distinct id,
 * email, name, phone or secret.
 */
public final class JsonLog {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final String function;
    private final PrintStream out;
    private final Clock clock;

    public JsonLog(String function, PrintStream out, Clock clock) {
        this.function = Objects.requireNonNull(function, "function");
        this.out = Objects.requireNonNull(out, "out");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    public static JsonLog stdout(String function) {
        return new JsonLog(function, System.out, Clock.systemUTC());
    }

    public void info(String message, Map<String, ?> fields) {
        write("INFO", message, fields);
    }

    public void warn(String message, Map<String, ?> fields) {
        write("WARN", message, fields);
    }

    public void error(String message, Map<String, ?> fields) {
        write("ERROR", message, fields);
    }

    private void write(String level, String message, Map<String, ?> fields) {
        ObjectNode line = MAPPER.createObjectNode();
        line.put("timestamp", clock.instant().toString());
        line.put("level", level);
        line.put("message", message);
        line.put("function", function);
        fields.forEach((k, v) -> line.set(k, MAPPER.valueToTree(v)));
        String text = line.toString();
        synchronized (out) {
            out.println(text);
        }
    }
}
