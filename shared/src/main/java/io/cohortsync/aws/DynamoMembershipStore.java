package io.cohortsync.aws;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.Shards;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;

import java.time.Clock;
import java.time.Duration;
import java.util.AbstractMap;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.BiConsumer;
import java.util.function.Consumer;

/**
 * {@link MembershipStore} on DynamoDB: one small item per (cohort, user), in the user's shard
 * partition ({@link Keys#membershipPk(CohortRef, String)}).
 */
public final class DynamoMembershipStore implements MembershipStore {
    /** BatchGetItem takes at most 100 keys a call. */
    static final int BATCH_GET_KEYS = 100;
    /** Rounds of UnprocessedKeys before a read is declared throttled. */
    private static final int UNPROCESSED_ROUNDS = 8;
    private static final String ATTRIBUTES = "sk, m, v, u, n, e, a";

    private final DynamoDbClient dynamo;
    private final String table;
    private final int commitConcurrency;
    private final Duration exitedTtl;
    private final Clock clock;

    /**
     * @param exitedTtl how long an exited member's item is kept (README: longer than the DLQ keeps a
     *                  message); zero keeps it for ever
     */
    public DynamoMembershipStore(DynamoDbClient dynamo, String table, int commitConcurrency, Duration exitedTtl,
                                 Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        if (commitConcurrency < 1) {
            throw new IllegalArgumentException("commitConcurrency must be >= 1");
        }
        this.commitConcurrency = commitConcurrency;
        this.exitedTtl = exitedTtl;
        this.clock = clock;
    }

    @Override
    public Map<String, Membership> read(CohortRef cohort, Collection<String> distinctIds, boolean consistent) {
        Map<String, Membership> found = new HashMap<>();
        List<String> ids = new ArrayList<>(distinctIds);
        for (int from = 0; from < ids.size(); from += BATCH_GET_KEYS) {
            List<Map<String, AttributeValue>> keys = ids.subList(from, Math.min(ids.size(), from + BATCH_GET_KEYS))
                    .stream().map(id -> key(cohort, id)).toList();
            Map<String, KeysAndAttributes> request = new HashMap<>(Map.of(table, KeysAndAttributes.builder()
                    .keys(keys).consistentRead(consistent).projectionExpression(ATTRIBUTES).build()));
            for (int round = 0; !request.isEmpty(); round++) {
                if (round == UNPROCESSED_ROUNDS) {
                    throw new DependencyUnavailableException("DynamoDB", "BatchGetItem stayed throttled", null);
                }
                backoff(round);
                BatchGetItemResponse response;
                try {
                    response = dynamo.batchGetItem(b -> b.requestItems(Map.copyOf(request)));
                } catch (SdkException e) {
                    throw AwsErrors.unavailable("DynamoDB", "BatchGetItem", e);
                }
                response.responses().getOrDefault(table, List.of())
                        .forEach(item -> found.put(item.get("sk").s(), membership(item)));
                request.clear();
                if (response.hasUnprocessedKeys()) {
                    request.putAll(response.unprocessedKeys());
                }
            }
        }
        return found;
    }

    @Override
    public Set<String> commit(CohortRef cohort, List<Change> changes) {
        return commitUnlisted(cohort, changes, 0);
    }

    @Override
    public Set<String> commitUnlisted(CohortRef cohort, List<Change> changes, long unlistedBefore) {
        long expires = exitedTtl.isZero() ? 0 : clock.instant().plus(exitedTtl).getEpochSecond();
        return concurrently(changes, (change, conflicts) -> put(cohort, change, unlistedBefore, expires, conflicts));
    }

    @Override
    public Set<String> mark(CohortRef cohort, Map<String, Membership> unchanged, long epoch) {
        return concurrently(List.copyOf(unchanged.entrySet()), (entry, conflicts) -> {
            UpdateItemRequest update = UpdateItemRequest.builder().tableName(table).key(key(cohort, entry.getKey()))
                    .updateExpression("SET e = :e")
                    .conditionExpression("v = :v")
                    .expressionAttributeValues(Map.of(":e", n(epoch), ":v", n(entry.getValue().version())))
                    .build();
            try {
                dynamo.updateItem(update);
            } catch (ConditionalCheckFailedException e) {
                conflicts.add(entry.getKey());
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "UpdateItem", e);
            }
        });
    }

    /**
     * One conditional write per item (the design's floor), run concurrently so 1,000 writes cost
     * ~1,000/concurrency round trips of latency. Platform threads: on Java 21 a virtual thread blocked
     * inside HttpURLConnection can pin its carrier.
     */
    private <T> Set<String> concurrently(List<T> items, BiConsumer<T, Set<String>> write) {
        Set<String> conflicts = ConcurrentHashMap.newKeySet();
        if (items.isEmpty()) {
            return conflicts;
        }
        if (items.size() == 1) {
            write.accept(items.get(0), conflicts);
            return conflicts;
        }
        List<Future<?>> futures = new ArrayList<>(items.size());
        ExecutorService executor = Executors.newFixedThreadPool(Math.min(commitConcurrency, items.size()));
        try {
            for (T item : items) {
                futures.add(executor.submit(() -> write.accept(item, conflicts)));
            }
            for (Future<?> f : futures) {
                try {
                    f.get();
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw new IllegalStateException(e.getCause());
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DependencyUnavailableException("DynamoDB", "commit interrupted", e);
                }
            }
        } finally {
            executor.shutdownNow();
        }
        return conflicts;
    }

    private void put(CohortRef cohort, Change change, long unlistedBefore, long expires, Set<String> conflicts) {
        Map<String, AttributeValue> item = key(cohort, change.distinctId());
        Membership to = change.to();
        item.put("m", AttributeValue.fromBool(to.member()));
        item.put("v", n(to.version()));
        if (to.nameVersion() > 0) {
            item.put("n", n(to.nameVersion()));
        }
        if (to.listedEpoch() > 0) {
            item.put("e", n(to.listedEpoch()));
        }
        if (to.userId() != null) {
            item.put("u", AttributeValue.fromS(to.userId()));
        }
        if (to.anonymous()) {
            item.put("a", AttributeValue.fromBool(true));
        }
        if (!to.member() && expires > 0) {
            item.put(Keys.TTL, n(expires));
        }
        Map<String, AttributeValue> values = new HashMap<>();
        String condition;
        if (change.from().version() == 0) {
            condition = "attribute_not_exists(pk)";
        } else {
            condition = "v = :expected";
            values.put(":expected", n(change.from().version()));
        }
        if (unlistedBefore > 0) {
            condition = condition + " AND (attribute_not_exists(e) OR e < :epoch)";
            values.put(":epoch", n(unlistedBefore));
        }
        PutItemRequest.Builder put = PutItemRequest.builder().tableName(table).item(item).conditionExpression(condition);
        if (!values.isEmpty()) {
            put.expressionAttributeValues(values);
        }
        try {
            dynamo.putItem(put.build());
        } catch (ConditionalCheckFailedException e) {
            conflicts.add(change.distinctId());
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
    }

    @Override
    public ScanPage scan(CohortRef cohort, int shard, String fromInclusive, String toInclusive, String cursor,
                         int limit) {
        String pk = Keys.membershipPk(cohort, shard);
        Map<String, AttributeValue> values = new HashMap<>();
        values.put(":pk", AttributeValue.fromS(pk));
        String condition = "pk = :pk";
        if (fromInclusive != null && toInclusive != null) {
            condition += " AND sk BETWEEN :from AND :to";
            values.put(":from", AttributeValue.fromS(fromInclusive));
            values.put(":to", AttributeValue.fromS(toInclusive));
        } else if (fromInclusive != null) {
            condition += " AND sk >= :from";
            values.put(":from", AttributeValue.fromS(fromInclusive));
        } else if (toInclusive != null) {
            condition += " AND sk <= :to";
            values.put(":to", AttributeValue.fromS(toInclusive));
        }
        QueryRequest.Builder q = QueryRequest.builder().tableName(table).consistentRead(true)
                .keyConditionExpression(condition).projectionExpression(ATTRIBUTES)
                .expressionAttributeValues(values).limit(limit);
        if (cursor != null) {
            q.exclusiveStartKey(Map.of(Keys.PK, AttributeValue.fromS(pk), Keys.SK, AttributeValue.fromS(cursor)));
        }
        QueryResponse page = query(q.build());
        List<Map.Entry<String, Membership>> items = new ArrayList<>(page.count());
        page.items().forEach(item -> items.add(new AbstractMap.SimpleImmutableEntry<>(item.get("sk").s(),
                membership(item))));
        boolean more = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty();
        return new ScanPage(items, more ? page.lastEvaluatedKey().get(Keys.SK).s() : null);
    }

    @Override
    public boolean hasLegacyState(CohortRef cohort) {
        QueryResponse page = query(QueryRequest.builder().tableName(table).consistentRead(true)
                .keyConditionExpression("pk = :pk").projectionExpression("sk").limit(1)
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Keys.legacyMembershipPk(cohort))))
                .build());
        return page.count() > 0;
    }

    @Override
    public int migrateLegacy(CohortRef cohort, int limit) {
        String legacy = Keys.legacyMembershipPk(cohort);
        QueryResponse page = query(QueryRequest.builder().tableName(table).consistentRead(true)
                .keyConditionExpression("pk = :pk").limit(limit)
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(legacy))).build());
        List<Map<String, AttributeValue>> items = page.items();
        concurrently(items, (old, ignored) -> {
            String id = old.get(Keys.SK).s();
            Map<String, AttributeValue> moved = new HashMap<>(old);
            moved.put(Keys.PK, AttributeValue.fromS(Keys.membershipPk(cohort, id)));
            // Earlier versions announced every member under the cohort's one known name: version 1.
            moved.putIfAbsent("n", n(1));
            try {
                dynamo.putItem(b -> b.tableName(table).item(moved).conditionExpression("attribute_not_exists(pk)"));
            } catch (ConditionalCheckFailedException e) {
                // A newer item is in the shard already (written since the migration began): it wins.
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
            }
            try {
                dynamo.deleteItem(b -> b.tableName(table).key(Map.of(Keys.PK, AttributeValue.fromS(legacy),
                        Keys.SK, AttributeValue.fromS(id))));
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "DeleteItem", e);
            }
        });
        return items.size();
    }

    private QueryResponse query(QueryRequest request) {
        try {
            return dynamo.query(request);
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "Query", e);
        }
    }

    /** Every item of every shard of a cohort, in shard then key order (for operator tools). */
    public void forEachItem(CohortRef cohort, Consumer<Map.Entry<String, Membership>> each) {
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            String cursor = null;
            do {
                ScanPage page = scan(cohort, shard, null, null, cursor, 1000);
                page.items().forEach(each);
                cursor = page.next();
            } while (cursor != null);
        }
    }

    private static Map<String, AttributeValue> key(CohortRef cohort, String distinctId) {
        Map<String, AttributeValue> key = new HashMap<>();
        key.put(Keys.PK, AttributeValue.fromS(Keys.membershipPk(cohort, distinctId)));
        key.put(Keys.SK, AttributeValue.fromS(distinctId));
        return key;
    }

    static Membership membership(Map<String, AttributeValue> item) {
        AttributeValue u = item.get("u");
        AttributeValue nv = item.get("n");
        AttributeValue e = item.get("e");
        AttributeValue a = item.get("a");
        return new Membership(Boolean.TRUE.equals(item.get("m").bool()), Long.parseLong(item.get("v").n()),
                u == null ? null : u.s(), nv == null ? 0 : Long.parseLong(nv.n()), e == null ? 0 : Long.parseLong(e.n()),
                a != null && Boolean.TRUE.equals(a.bool()));
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    /** Exponential backoff between UnprocessedKeys rounds: 0, 25, 50, 100 … ms (DynamoDB's advice). */
    static void backoff(int round) {
        if (round == 0) {
            return;
        }
        try {
            Thread.sleep(Math.min(800, 25L << (round - 1)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DependencyUnavailableException("DynamoDB", "interrupted while backing off", e);
        }
    }
}
