package io.cohortsync.bench;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Applies a DynamoDB update expression to a copy of an item, so the meter knows the size of an item
 * after an UpdateItem (a write is billed on the larger of the item before and after). Covers what
 * the adapters use: {@code SET a = :v}, {@code SET a = if_not_exists(a, :v)}, {@code SET a = a + :v},
 * {@code ADD n :v} (numbers and sets), {@code DELETE s :v}, {@code REMOVE a}, on top-level attributes,
 * names through {@code #alias}. Anything else returns null: the caller counts it as not understood.
 */
final class UpdateExpressions {
    private UpdateExpressions() {
    }

    static Map<String, AttributeValue> apply(Map<String, AttributeValue> item, String expression,
                                             Map<String, String> names, Map<String, AttributeValue> values) {
        Map<String, AttributeValue> result = new HashMap<>(item);
        try {
            for (String[] clause : clauses(expression)) {
                for (String action : splitTopLevel(clause[1])) {
                    if (!apply(result, clause[0], action.strip(), names, values)) {
                        return null;
                    }
                }
            }
        } catch (RuntimeException e) {
            return null;
        }
        return result;
    }

    private static boolean apply(Map<String, AttributeValue> item, String keyword, String action,
                                 Map<String, String> names, Map<String, AttributeValue> values) {
        switch (keyword) {
            case "SET" -> {
                int eq = action.indexOf('=');
                if (eq < 0) {
                    return false;
                }
                String path = name(action.substring(0, eq).strip(), names);
                AttributeValue v = value(action.substring(eq + 1).strip(), item, names, values);
                if (path == null || v == null) {
                    return false;
                }
                item.put(path, v);
                return true;
            }
            case "REMOVE" -> {
                String path = name(action, names);
                if (path == null) {
                    return false;
                }
                item.remove(path);
                return true;
            }
            case "ADD", "DELETE" -> {
                String[] parts = action.split("\\s+");
                if (parts.length != 2) {
                    return false;
                }
                String path = name(parts[0], names);
                AttributeValue v = values.get(parts[1]);
                if (path == null || v == null) {
                    return false;
                }
                AttributeValue old = item.get(path);
                AttributeValue next = keyword.equals("ADD") ? add(old, v) : delete(old, v);
                if (next == null) {
                    item.remove(path);
                } else {
                    item.put(path, next);
                }
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private static AttributeValue value(String rhs, Map<String, AttributeValue> item, Map<String, String> names,
                                        Map<String, AttributeValue> values) {
        List<String> sum = splitArithmetic(rhs);
        if (sum.size() == 3) {
            AttributeValue a = operand(sum.get(0), item, names, values);
            AttributeValue b = operand(sum.get(2), item, names, values);
            if (a == null || b == null || a.n() == null || b.n() == null) {
                return null;
            }
            BigDecimal x = new BigDecimal(a.n());
            BigDecimal y = new BigDecimal(b.n());
            return AttributeValue.fromN((sum.get(1).equals("+") ? x.add(y) : x.subtract(y)).toPlainString());
        }
        return operand(rhs, item, names, values);
    }

    private static AttributeValue operand(String s, Map<String, AttributeValue> item, Map<String, String> names,
                                          Map<String, AttributeValue> values) {
        String t = s.strip();
        if (t.startsWith(":")) {
            return values.get(t);
        }
        if (t.toLowerCase(Locale.ROOT).startsWith("if_not_exists(") && t.endsWith(")")) {
            List<String> args = splitTopLevel(t.substring("if_not_exists(".length(), t.length() - 1));
            if (args.size() != 2) {
                return null;
            }
            String path = name(args.get(0).strip(), names);
            if (path == null) {
                return null;
            }
            AttributeValue existing = item.get(path);
            return existing != null ? existing : operand(args.get(1), item, names, values);
        }
        String path = name(t, names);
        return path == null ? null : item.get(path);
    }

    private static AttributeValue add(AttributeValue old, AttributeValue v) {
        if (v.n() != null) {
            BigDecimal base = old == null ? BigDecimal.ZERO : new BigDecimal(old.n());
            return AttributeValue.fromN(base.add(new BigDecimal(v.n())).toPlainString());
        }
        if (v.hasSs()) {
            Set<String> union = new LinkedHashSet<>(old == null ? List.of() : old.ss());
            union.addAll(v.ss());
            return AttributeValue.fromSs(new ArrayList<>(union));
        }
        if (v.hasNs()) {
            Set<String> union = new LinkedHashSet<>(old == null ? List.of() : old.ns());
            union.addAll(v.ns());
            return AttributeValue.fromNs(new ArrayList<>(union));
        }
        throw new IllegalArgumentException("ADD needs a number or a set");
    }

    private static AttributeValue delete(AttributeValue old, AttributeValue v) {
        if (old == null) {
            return null;
        }
        if (v.hasSs()) {
            Set<String> rest = new LinkedHashSet<>(old.ss());
            v.ss().forEach(rest::remove);
            return rest.isEmpty() ? null : AttributeValue.fromSs(new ArrayList<>(rest));
        }
        throw new IllegalArgumentException("DELETE needs a string set");
    }

    /** A top-level attribute name (resolved through {@code names}); null for a nested path. */
    private static String name(String path, Map<String, String> names) {
        String p = path.strip();
        if (p.isEmpty() || p.contains(".") || p.contains("[")) {
            return null;
        }
        if (p.startsWith("#")) {
            return names == null ? null : names.get(p);
        }
        return p;
    }

    /** [keyword, body] for each SET / REMOVE / ADD / DELETE clause. */
    static List<String[]> clauses(String expression) {
        List<String[]> clauses = new ArrayList<>();
        String e = expression.strip();
        int depth = 0;
        int start = -1;
        String keyword = null;
        for (int i = 0; i <= e.length(); i++) {
            String found = i < e.length() && depth == 0 ? keywordAt(e, i) : null;
            if (i == e.length() || found != null) {
                if (keyword != null) {
                    clauses.add(new String[]{keyword, e.substring(start, i).strip()});
                } else if (i > 0 && !e.substring(0, i).isBlank()) {
                    throw new IllegalArgumentException("text before the first clause");
                }
                if (found != null) {
                    keyword = found;
                    start = i + found.length();
                    i = start - 1;
                }
                continue;
            }
            char c = e.charAt(i);
            depth += c == '(' ? 1 : c == ')' ? -1 : 0;
        }
        return clauses;
    }

    private static String keywordAt(String e, int i) {
        if (i > 0 && !Character.isWhitespace(e.charAt(i - 1))) {
            return null;
        }
        for (String k : List.of("SET", "REMOVE", "ADD", "DELETE")) {
            int end = i + k.length();
            if (e.regionMatches(true, i, k, 0, k.length()) && end < e.length() && Character.isWhitespace(e.charAt(end))) {
                return k;
            }
        }
        return null;
    }

    static List<String> splitTopLevel(String s) {
        List<String> parts = new ArrayList<>();
        int depth = 0;
        int from = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if (c == ',' && depth == 0) {
                parts.add(s.substring(from, i));
                from = i + 1;
            }
        }
        parts.add(s.substring(from));
        return parts;
    }

    /** [a, op, b] when {@code s} is {@code a + b} or {@code a - b} at the top level, else [s]. */
    private static List<String> splitArithmetic(String s) {
        int depth = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '(') {
                depth++;
            } else if (c == ')') {
                depth--;
            } else if ((c == '+' || c == '-') && depth == 0 && i > 0) {
                return List.of(s.substring(0, i), String.valueOf(c), s.substring(i + 1));
            }
        }
        return List.of(s);
    }
}
