package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Reads a number out of a log line, an EMF line or a status document so that a missing field fails.
 * Jackson's {@code path(name).asInt()} reads a missing field as 0, so {@code isZero()} or
 * {@code isGreaterThanOrEqualTo(0)} on it passes whether or not the code wrote the field at all.
 */
public final class JsonFields {
    private JsonFields() {
    }

    /** The whole number {@code object.name}; fails if it is missing, not a number, or has a fraction. */
    public static long count(JsonNode object, String name) {
        JsonNode value = require(object, name);
        if (!value.canConvertToExactIntegral()) {
            throw new AssertionError("\"" + name + "\" is " + value + ", not a whole number, in " + object);
        }
        return value.asLong();
    }

    /** The number {@code object.name} (EMF writes counts as doubles); fails if it is missing or not a number. */
    public static double number(JsonNode object, String name) {
        return require(object, name).asDouble();
    }

    private static JsonNode require(JsonNode object, String name) {
        JsonNode value = object == null ? null : object.get(name);
        if (value == null || !value.isNumber()) {
            throw new AssertionError("\"" + name + "\" is " + (value == null ? "missing" : value)
                    + ", not a number, in " + object);
        }
        return value;
    }
}
