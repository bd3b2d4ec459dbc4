package io.cohortsync.domain;

import java.nio.charset.StandardCharsets;

/**
 * How a cohort's membership is spread over partition keys. A DynamoDB partition takes about 1,000
 * writes a second; {@link #COUNT} shards let one cohort take ~16 times that, and let the reconciler
 * work on a cohort in {@link #COUNT} independent jobs. The hash is part of the stored key layout:
 * changing it (or the count) needs a migration of every cohort.
 */
public final class Shards {
    /** Shards per cohort. */
    public static final int COUNT = 16;
    private static final int FNV_OFFSET = 0x811c9dc5;
    private static final int FNV_PRIME = 0x01000193;

    private Shards() {
    }

    /** The shard of a distinct id: 32-bit FNV-1a over its UTF-8 bytes, mod {@link #COUNT}. */
    public static int of(String distinctId) {
        int h = FNV_OFFSET;
        for (byte b : distinctId.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= FNV_PRIME;
        }
        return Integer.remainderUnsigned(h, COUNT);
    }

    /**
     * Compares ids the way DynamoDB orders sort keys (UTF-8 bytes, which is code-point order).
     * {@link String#compareTo} compares UTF-16 units and disagrees for characters beyond U+FFFF.
     */
    public static int compareKeys(String a, String b) {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
            int ca = a.codePointAt(i);
            int cb = b.codePointAt(j);
            if (ca != cb) {
                return Integer.compare(ca, cb);
            }
            i += Character.charCount(ca);
            j += Character.charCount(cb);
        }
        return Integer.compare(a.length() - i, b.length() - j);
    }
}
