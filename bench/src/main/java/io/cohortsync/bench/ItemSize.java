package io.cohortsync.bench;

import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * DynamoDB's item size rules (Developer Guide, "Item sizes and formats"), which decide read and write
 * units: attribute names count in UTF-8 bytes; strings in UTF-8 bytes; numbers about one byte per two
 * significant digits plus one; binary in raw bytes; booleans and nulls one byte; sets the sum of their
 * elements; lists and maps 3 bytes plus one byte per element plus the elements.
 */
final class ItemSize {
    private ItemSize() {
    }

    static int of(Map<String, AttributeValue> item) {
        int size = 0;
        for (Map.Entry<String, AttributeValue> e : item.entrySet()) {
            size += utf8(e.getKey()) + value(e.getValue());
        }
        return size;
    }

    static int value(AttributeValue v) {
        if (v.s() != null) {
            return utf8(v.s());
        }
        if (v.n() != null) {
            return number(v.n());
        }
        if (v.b() != null) {
            return v.b().asByteArray().length;
        }
        if (v.bool() != null || Boolean.TRUE.equals(v.nul())) {
            return 1;
        }
        if (v.hasSs()) {
            return v.ss().stream().mapToInt(ItemSize::utf8).sum();
        }
        if (v.hasNs()) {
            return v.ns().stream().mapToInt(ItemSize::number).sum();
        }
        if (v.hasBs()) {
            return v.bs().stream().mapToInt(b -> b.asByteArray().length).sum();
        }
        if (v.hasL()) {
            return 3 + v.l().stream().mapToInt(x -> 1 + value(x)).sum();
        }
        if (v.hasM()) {
            return 3 + v.m().entrySet().stream().mapToInt(x -> 1 + utf8(x.getKey()) + value(x.getValue())).sum();
        }
        return 0;
    }

    /** One byte per two significant digits (leading and trailing zeros trimmed), plus one. */
    static int number(String n) {
        String digits = new BigDecimal(n).unscaledValue().abs().toString();
        digits = digits.replaceAll("0+$", "");
        int significant = Math.max(1, digits.length());
        return (significant + 1) / 2 + 1;
    }

    static int utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8).length;
    }
}
