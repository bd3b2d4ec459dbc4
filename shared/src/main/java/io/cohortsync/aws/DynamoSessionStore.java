package io.cohortsync.aws;

import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import io.cohortsync.domain.Shards;
import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.core.SdkBytes;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.zip.DataFormatException;
import java.util.zip.Deflater;
import java.util.zip.Inflater;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@link SessionStore} on DynamoDB. A page's ids are written first, split by shard (packed into
 * string-set items of at most {@link #CHUNK_BYTES}, under the 400 KB item limit), then its small receipt, so a receipt
 * always means its ids are stored. Every session item expires by TTL, so sessions that never complete
 * vanish without effect.
 */
public final class DynamoSessionStore implements SessionStore {
    /** Stay well under DynamoDB's 400 KB item limit (attribute names and overhead included). */
    static final int CHUNK_BYTES = 350_000;

    private final DynamoDbClient dynamo;
    private final String table;
    private final Duration ttl;
    private final Clock clock;

    public DynamoSessionStore(DynamoDbClient dynamo, String table, Duration ttl, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.ttl = ttl;
        this.clock = clock;
    }

    @Override
    public int recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds) {
        String pk = Keys.sessionPk(session);
        AttributeValue expires = expiresAt();
        // Split by shard: the reconciler's job for one shard then reads only its own ids. Write units are
        // per KB rounded up, so 16 raw pieces of a 1,000-id page would cost ~1.6x one piece: each piece is
        // stored deflated (distinct ids, often e-mails, compress 2-4x), which brings it back under one.
        List<List<String>> byShard = new ArrayList<>();
        for (int s = 0; s < Shards.COUNT; s++) {
            byShard.add(new ArrayList<>());
        }
        distinctIds.forEach(id -> byShard.get(Shards.of(id)).add(id));
        List<Map<String, AttributeValue>> pieces = new ArrayList<>();
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            List<List<String>> chunks = chunks(byShard.get(shard));
            for (int i = 0; i < chunks.size(); i++) {
                Map<String, AttributeValue> item = item(pk, idsPrefix(shard) + pageKey(page) + "#" + i, expires);
                item.put("z", AttributeValue.fromB(SdkBytes.fromByteArray(packIds(chunks.get(i)))));
                pieces.add(item);
            }
        }
        writeAll(pieces);
        // The receipt last (a receipt always means its ids are stored), with the session's page counter
        // in the same transaction: the counter counts each receipt once, so no request has to list them.
        Map<String, AttributeValue> receipt = item(pk, "P#" + pageKey(page), expires);
        receipt.put("total", AttributeValue.fromN(Integer.toString(totalPages)));
        receipt.put("chunks", AttributeValue.fromN(Integer.toString(pieces.size())));
        receipt.put("members", AttributeValue.fromN(Integer.toString(distinctIds.size())));
        Map<String, AttributeValue> counter = Map.of(Keys.PK, AttributeValue.fromS(pk), Keys.SK, AttributeValue.fromS("PAGES"));
        try {
            dynamo.transactWriteItems(b -> b.transactItems(
                    TransactWriteItem.builder().put(p -> p.tableName(table).item(receipt)
                            .conditionExpression("attribute_not_exists(pk)")).build(),
                    TransactWriteItem.builder().update(u -> u.tableName(table).key(counter)
                            .updateExpression("ADD pages :one SET " + Keys.TTL + " = :expires")
                            .expressionAttributeValues(Map.of(":one", AttributeValue.fromN("1"), ":expires", expires)))
                            .build()));
        } catch (TransactionCanceledException e) {
            boolean recorded = e.hasCancellationReasons() && e.cancellationReasons().stream()
                    .map(CancellationReason::code).anyMatch("ConditionalCheckFailed"::equals);
            if (!recorded) {
                throw AwsErrors.unavailable("DynamoDB", "TransactWriteItems", e);
            }
            // This page was recorded before (a retry): it is counted already.
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "TransactWriteItems", e);
        }
        return pageCount(pk);
    }

    @Override
    public OptionalInt pagesIfRecorded(SessionKey session, int page) {
        String pk = Keys.sessionPk(session);
        if (get(pk, "P#" + pageKey(page)) == null) {
            return OptionalInt.empty();
        }
        return OptionalInt.of(pageCount(pk));
    }

    private int pageCount(String pk) {
        Map<String, AttributeValue> counter = get(pk, "PAGES");
        AttributeValue n = counter == null ? null : counter.get("pages");
        return n == null ? 0 : Integer.parseInt(n.n());
    }

    /** Strongly consistent: a page recorded by one request must be seen by the next. */
    private Map<String, AttributeValue> get(String pk, String sk) {
        GetItemResponse r;
        try {
            r = dynamo.getItem(b -> b.tableName(table).consistentRead(true)
                    .key(Map.of(Keys.PK, AttributeValue.fromS(pk), Keys.SK, AttributeValue.fromS(sk))));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "GetItem", e);
        }
        return r.hasItem() && !r.item().isEmpty() ? r.item() : null;
    }

    @Override
    public void forEachExportedId(SessionKey session, int shard, Consumer<String> each) {
        query(session, idsPrefix(shard), "z, ids", item -> {
            AttributeValue packed = item.get("z");
            if (packed != null) {
                unpackIds(packed.b().asByteArray(), each);
            } else {
                item.get("ids").ss().forEach(each); // a piece written by the previous release (a string set)
            }
        });
    }

    /** {@code I#<shard>#}: two hex digits, so one shard's prefix is never another's. */
    private static String idsPrefix(int shard) {
        return "I#" + Keys.shardKey(shard) + "#";
    }

    /** BatchWriteItem, 25 items a call, unprocessed items retried with backoff. */
    private void writeAll(List<Map<String, AttributeValue>> items) {
        for (int from = 0; from < items.size(); from += 25) {
            List<WriteRequest> requests = items.subList(from, Math.min(items.size(), from + 25)).stream()
                    .map(i -> WriteRequest.builder().putRequest(p -> p.item(i)).build()).toList();
            Map<String, List<WriteRequest>> pending = Map.of(table, requests);
            for (int round = 0; !pending.isEmpty(); round++) {
                if (round == 8) {
                    throw new DependencyUnavailableException("DynamoDB", "BatchWriteItem stayed throttled", null);
                }
                DynamoMembershipStore.backoff(round);
                BatchWriteItemResponse response;
                try {
                    Map<String, List<WriteRequest>> send = pending;
                    response = dynamo.batchWriteItem(b -> b.requestItems(send));
                } catch (SdkException e) {
                    throw AwsErrors.unavailable("DynamoDB", "BatchWriteItem", e);
                }
                pending = response.hasUnprocessedItems() ? response.unprocessedItems() : Map.of();
            }
        }
    }

    @Override
    public Optional<SessionOutcome> outcome(SessionKey session) {
        GetItemResponse response;
        try {
            response = dynamo.getItem(b -> b.tableName(table).consistentRead(true)
                    .key(Map.of(Keys.PK, AttributeValue.fromS(Keys.sessionPk(session)),
                            Keys.SK, AttributeValue.fromS("OUTCOME"))));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "GetItem", e);
        }
        if (!response.hasItem() || response.item().isEmpty()) {
            return Optional.empty();
        }
        Map<String, AttributeValue> item = response.item();
        return Optional.of(outcome(item));
    }

    @Override
    public void recordOutcome(SessionKey session, SessionOutcome outcome) {
        put(outcomeItem(session, outcome, expiresAt()));
    }

    static Map<String, AttributeValue> outcomeItem(SessionKey session, SessionOutcome outcome, AttributeValue expires) {
        Map<String, AttributeValue> item = item(Keys.sessionPk(session), "OUTCOME", expires);
        item.put("status", AttributeValue.fromS(outcome.status().name()));
        item.put("epoch", AttributeValue.fromN(Long.toString(outcome.epoch())));
        item.put("members", AttributeValue.fromN(Long.toString(outcome.members())));
        item.put("exits", AttributeValue.fromN(Long.toString(outcome.exits())));
        return item;
    }

    static SessionOutcome outcome(Map<String, AttributeValue> item) {
        AttributeValue epoch = item.get("epoch");
        return new SessionOutcome(SessionOutcome.Status.valueOf(item.get("status").s()),
                epoch == null ? 0 : Long.parseLong(epoch.n()), Long.parseLong(item.get("members").n()),
                Long.parseLong(item.get("exits").n()));
    }

    private void query(SessionKey session, String prefix, String attribute,
                       Consumer<Map<String, AttributeValue>> each) {
        Map<String, AttributeValue> start = null;
        do {
            QueryRequest.Builder q = QueryRequest.builder().tableName(table).consistentRead(true)
                    .keyConditionExpression("pk = :pk AND begins_with(sk, :prefix)")
                    .projectionExpression("sk".equals(attribute) ? "sk" : "sk, " + attribute)
                    .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Keys.sessionPk(session)),
                            ":prefix", AttributeValue.fromS(prefix)));
            if (start != null) {
                q.exclusiveStartKey(start);
            }
            QueryResponse page;
            try {
                page = dynamo.query(q.build());
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "Query", e);
            }
            page.items().forEach(each);
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
    }

    private void put(Map<String, AttributeValue> item) {
        try {
            dynamo.putItem(b -> b.tableName(table).item(item));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
    }

    AttributeValue expiresAt() {
        return AttributeValue.fromN(Long.toString(clock.instant().plus(ttl).getEpochSecond()));
    }

    static Map<String, AttributeValue> item(String pk, String sk, AttributeValue expires) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(pk));
        item.put(Keys.SK, AttributeValue.fromS(sk));
        item.put(Keys.TTL, expires);
        return item;
    }

    /** Zero-padded so receipts sort by page. */
    private static String pageKey(int page) {
        return String.format("%07d", page);
    }

    /**
     * A piece's ids, deflated: each id as its UTF-8 length (unsigned varint) and bytes. Length-prefixed, so
     * an id may hold any character.
     */
    public static byte[] packIds(List<String> ids) {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        for (String id : ids) {
            byte[] utf8 = id.getBytes(StandardCharsets.UTF_8);
            for (int n = utf8.length; ; n >>>= 7) {
                if (n < 0x80) {
                    raw.write(n);
                    break;
                }
                raw.write((n & 0x7f) | 0x80);
            }
            raw.writeBytes(utf8);
        }
        Deflater deflater = new Deflater(Deflater.BEST_COMPRESSION);
        try {
            deflater.setInput(raw.toByteArray());
            deflater.finish();
            ByteArrayOutputStream packed = new ByteArrayOutputStream();
            byte[] buffer = new byte[8192];
            while (!deflater.finished()) {
                packed.write(buffer, 0, deflater.deflate(buffer));
            }
            return packed.toByteArray();
        } finally {
            deflater.end();
        }
    }

    /** The ids {@link #packIds} packed, in order. */
    public static void unpackIds(byte[] packed, Consumer<String> each) {
        Inflater inflater = new Inflater();
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try {
            inflater.setInput(packed);
            byte[] buffer = new byte[8192];
            while (!inflater.finished()) {
                int n = inflater.inflate(buffer);
                if (n == 0 && (inflater.needsInput() || inflater.needsDictionary())) {
                    throw new IllegalStateException("a session id piece is truncated");
                }
                raw.write(buffer, 0, n);
            }
        } catch (DataFormatException e) {
            throw new IllegalStateException("a session id piece is not deflated data", e);
        } finally {
            inflater.end();
        }
        byte[] bytes = raw.toByteArray();
        int i = 0;
        while (i < bytes.length) {
            int length = 0;
            for (int shift = 0; ; shift += 7) {
                int b = bytes[i++] & 0xff;
                length |= (b & 0x7f) << shift;
                if (b < 0x80) {
                    break;
                }
            }
            each.accept(new String(bytes, i, length, StandardCharsets.UTF_8));
            i += length;
        }
    }

    private static List<List<String>> chunks(List<String> ids) {
        List<List<String>> chunks = new ArrayList<>();
        List<String> current = new ArrayList<>();
        int bytes = 0;
        for (String id : ids) {
            int size = id.getBytes(StandardCharsets.UTF_8).length;
            if (!current.isEmpty() && bytes + size > CHUNK_BYTES) {
                chunks.add(current);
                current = new ArrayList<>();
                bytes = 0;
            }
            current.add(id);
            bytes += size;
        }
        if (!current.isEmpty()) {
            chunks.add(current);
        }
        return chunks;
    }
}
