package io.cohortsync.bench;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * The keys and byte sizes of the items the DynamoDB adapters write (io.cohortsync.aws), computed without
 * the SDK so {@code make bench-scale} can bill millions of operations on in-memory ports. Each size is
 * the adapter's item as {@link ItemSize} measures it (ScaleItemsTest checks each against the item the
 * real adapter sends). Membership items and session id pieces, the hot paths, are sized arithmetically;
 * the small items are built as the adapters build them and measured.
 */
final class ScaleItems {
    /** DynamoSessionStore.CHUNK_BYTES: a page's ids of one shard are packed into pieces of at most this. */
    static final int PIECE_BYTES = 350_000;
    /** An epoch-second TTL ({@code expiresAt}) this decade has 10 digits: 6 bytes as a DynamoDB number. */
    private static final int TTL_NUMBER_BYTES = numberBytes(1_800_000_000L);
    private static final AttributeValue TTL = AttributeValue.fromN("1800000000");

    private ScaleItems() {
    }

    // ------------------------------------------------------------------ keys (Keys, with its escaping)

    static String membershipPk(CohortRef cohort, int shard) {
        return Keys.membershipPk(cohort, shard);
    }

    static String cohortPk(CohortRef cohort) {
        return Keys.cohortPk(cohort);
    }

    static String sessionPk(SessionKey session) {
        return key("S", session.cohort()) + "#" + escape(session.sessionId());
    }

    static String reconcilePk(CohortRef cohort) {
        return key("R", cohort);
    }

    private static String key(String type, CohortRef cohort) {
        String prefix = cohort.isDefaultConnection() ? type : type + "!" + escape(cohort.connection());
        return prefix + "#" + escape(cohort.projectId()) + "#" + escape(cohort.cohortId());
    }

    private static String escape(String part) {
        return part.replace("%", "%25").replace("#", "%23");
    }

    // ------------------------------------------------------------------ the hot items, by arithmetic

    /**
     * A membership item as DynamoMembershipStore writes it: pk, sk, m, v, n (when > 0), e (when > 0),
     * u (when set), expiresAt (exited members, when a TTL is configured).
     */
    static int membershipBytes(String pk, String distinctId, Membership m, boolean exitTtl) {
        int size = 2 + utf8(pk) + 2 + utf8(distinctId) + 1 + 1 + 1 + numberBytes(m.version());
        if (m.nameVersion() > 0) {
            size += 1 + numberBytes(m.nameVersion());
        }
        if (m.listedEpoch() > 0) {
            size += 1 + numberBytes(m.listedEpoch());
        }
        if (m.userId() != null) {
            size += 1 + utf8(m.userId());
        }
        if (m.anonymous()) {
            size += 1 + 1; // "a" and a boolean
        }
        if (!m.member() && exitTtl) {
            size += Keys.TTL.length() + TTL_NUMBER_BYTES;
        }
        return size;
    }

    /**
     * One piece of a page's ids of one shard: pk, sk {@code I#<shard>#<page>#<n>}, expiresAt, and {@code z}:
     * the ids deflated ({@code packedBytes}, DynamoSessionStore.packIds).
     */
    static int pieceBytes(String sessionPk, int shard, int page, int piece, long packedBytes) {
        String sk = "I#" + String.format("%02x", shard) + "#" + String.format("%07d", page) + "#" + piece;
        return 2 + utf8(sessionPk) + 2 + utf8(sk) + Keys.TTL.length() + TTL_NUMBER_BYTES + 1 + (int) packedBytes;
    }

    /** The session's page counter: pk, sk {@code PAGES}, pages, expiresAt. */
    static int pageCounterBytes(String sessionPk, long pages) {
        return 2 + utf8(sessionPk) + 2 + utf8("PAGES") + utf8("pages") + numberBytes(pages) + Keys.TTL.length()
                + TTL_NUMBER_BYTES;
    }

    /** A DynamoDB number's size: one byte per two significant digits (trailing zeros trimmed), plus one. */
    static int numberBytes(long value) {
        long v = Math.abs(value);
        if (v == 0) {
            return 2;
        }
        while (v % 10 == 0) {
            v /= 10;
        }
        int digits = 0;
        for (; v > 0; v /= 10) {
            digits++;
        }
        return (digits + 1) / 2 + 1;
    }

    static int utf8(String s) {
        int n = s.length();
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) >= 0x80) {
                return s.getBytes(StandardCharsets.UTF_8).length;
            }
        }
        return n;
    }

    // ------------------------------------------------------------------ the small items, as built

    /** A page's receipt (DynamoSessionStore.recordPage). */
    static int receiptBytes(String sessionPk, int page, int totalPages, int pieces, int members) {
        Map<String, AttributeValue> item = item(sessionPk, "P#" + String.format("%07d", page));
        item.put("total", n(totalPages));
        item.put("chunks", n(pieces));
        item.put("members", n(members));
        return ItemSize.of(item);
    }

    /** A session's outcome (DynamoSessionStore.outcomeItem; completeSession adds {@code pages}). */
    static int outcomeBytes(SessionKey session, SessionOutcome outcome, int pages) {
        Map<String, AttributeValue> item = item(sessionPk(session), "OUTCOME");
        item.put("status", AttributeValue.fromS(outcome.status().name()));
        item.put("epoch", n(outcome.epoch()));
        item.put("members", n(outcome.members()));
        item.put("exits", n(outcome.exits()));
        if (pages > 0) {
            item.put("pages", n(pages));
        }
        return ItemSize.of(item);
    }

    /** The cohort item (DynamoCohortStore), with what a completed session adds. */
    static int cohortBytes(CohortRef cohort, CohortState state) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(cohortPk(cohort)));
        item.put(Keys.SK, AttributeValue.fromS("META"));
        item.put("layout", n(2));
        item.put("name", AttributeValue.fromS(state.name()));
        item.put("nv", n(state.nameVersion()));
        Map<String, AttributeValue> names = new HashMap<>();
        state.names().forEach((v, name) -> names.put(Long.toString(v), AttributeValue.fromS(name)));
        item.put("nh", AttributeValue.fromM(names));
        item.put("epoch", n(state.epoch()));
        item.put("reconciling", AttributeValue.fromBool(state.reconciling()));
        item.put("migrating", AttributeValue.fromBool(state.migrating()));
        if (state.reconcileSession() != null) {
            item.put("rsession", AttributeValue.fromS(state.reconcileSession()));
        }
        return ItemSize.of(item);
    }

    /** A job's checkpoint (DynamoReconcileStore.save). */
    static int checkpointBytes(ReconcileJob job, Checkpoint cp) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(reconcilePk(job.cohort())));
        item.put(Keys.SK, AttributeValue.fromS("C#" + work(job) + "#" + String.format("%012d", job.generation()) + "#"
                + job.kind() + "#" + String.format("%02x", job.shard())));
        item.put("seq", n(cp.seq()));
        if (cp.passStart() != null) {
            item.put("ps", AttributeValue.fromS(cp.passStart()));
        }
        if (cp.cursor() != null) {
            item.put("cur", AttributeValue.fromS(cp.cursor()));
        }
        item.put("scanned", n(cp.scanned()));
        item.put("members", n(cp.members()));
        item.put("matched", n(cp.matched()));
        item.put("changed", n(cp.changed()));
        item.put("done", AttributeValue.fromBool(cp.done()));
        item.put("updatedAt", n(1_795_000_000_123L));
        item.put(Keys.TTL, TTL);
        return ItemSize.of(item);
    }

    /** A piece of work's summary after {@code shards} shards reported (DynamoReconcileStore.report). */
    static int summaryBytes(ReconcileJob job, int shards) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(reconcilePk(job.cohort())));
        item.put(Keys.SK, AttributeValue.fromS("S#" + work(job) + "#" + String.format("%012d", job.generation())));
        item.put("kind", AttributeValue.fromS(work(job)));
        item.put("gen", n(job.generation()));
        item.put("phase", AttributeValue.fromS("COUNTING"));
        item.put("updatedAt", n(1_795_000_000_123L));
        item.put(Keys.TTL, TTL);
        if (job.sessionId() != null) {
            item.put("rs", AttributeValue.fromS(job.sessionId()));
        }
        // Both shard sets full, every count at 8 digits: an upper bound of what report() builds up.
        item.put("counted", AttributeValue.fromSs(IntStream.range(0, Math.max(1, shards))
                .mapToObj(s -> String.format("%02x", s)).toList()));
        item.put("done", item.get("counted"));
        for (String count : List.of("members", "matched", "changed", "scanned")) {
            item.put(count, n(12_345_678));
        }
        return ItemSize.of(item);
    }

    private static String work(ReconcileJob job) {
        return job.kind().work();
    }

    private static Map<String, AttributeValue> item(String pk, String sk) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(pk));
        item.put(Keys.SK, AttributeValue.fromS(sk));
        item.put(Keys.TTL, TTL);
        return item;
    }

    private static AttributeValue n(long v) {
        return AttributeValue.fromN(Long.toString(v));
    }
}
