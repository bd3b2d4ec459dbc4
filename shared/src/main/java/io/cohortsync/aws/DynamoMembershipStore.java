package io.cohortsync.aws;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;

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

/** {@link MembershipStore} on DynamoDB: one small item per (cohort, user). */
public final class DynamoMembershipStore implements MembershipStore {
    /** BatchGetItem takes at most 100 keys a call. */
    static final int BATCH_GET_KEYS = 100;
    /** Rounds of UnprocessedKeys before a read is declared throttled. */
    private static final int UNPROCESSED_ROUNDS = 8;

    private final DynamoDbClient dynamo;
    private final String table;
    private final int commitConcurrency;

    public DynamoMembershipStore(DynamoDbClient dynamo, String table, int commitConcurrency) {
        this.dynamo = dynamo;
        this.table = table;
        if (commitConcurrency < 1) {
            throw new IllegalArgumentException("commitConcurrency must be >= 1");
        }
        this.commitConcurrency = commitConcurrency;
    }

    @Override
    public Map<String, Membership> read(CohortRef cohort, Collection<String> distinctIds, boolean consistent) {
        String pk = Keys.membershipPk(cohort);
        Map<String, Membership> found = new HashMap<>();
        List<String> ids = new ArrayList<>(distinctIds);
        for (int from = 0; from < ids.size(); from += BATCH_GET_KEYS) {
            List<Map<String, AttributeValue>> keys = ids.subList(from, Math.min(ids.size(), from + BATCH_GET_KEYS))
                    .stream().map(id -> key(pk, id)).toList();
            Map<String, KeysAndAttributes> request = new HashMap<>(Map.of(table, KeysAndAttributes.builder()
                    .keys(keys).consistentRead(consistent).projectionExpression("sk, m, v, u").build()));
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
        String pk = Keys.membershipPk(cohort);
        Set<String> conflicts = ConcurrentHashMap.newKeySet();
        if (changes.size() == 1) {
            put(pk, changes.get(0), conflicts);
            return conflicts;
        }
        // One conditional write per change (the design's floor); run them concurrently so a page of
        // 1,000 changes costs ~1,000/concurrency round trips of latency, not 1,000. Platform threads:
        // on Java 21 a virtual thread blocked inside HttpURLConnection can pin its carrier.
        List<Future<?>> futures = new ArrayList<>(changes.size());
        ExecutorService executor = Executors.newFixedThreadPool(Math.min(commitConcurrency, changes.size()));
        try {
            for (Change change : changes) {
                futures.add(executor.submit(() -> put(pk, change, conflicts)));
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

    private void put(String pk, Change change, Set<String> conflicts) {
        Map<String, AttributeValue> item = key(pk, change.distinctId());
        item.put("m", AttributeValue.fromBool(change.to().member()));
        item.put("v", AttributeValue.fromN(Long.toString(change.to().version())));
        if (change.to().userId() != null) {
            item.put("u", AttributeValue.fromS(change.to().userId()));
        }
        PutItemRequest.Builder put = PutItemRequest.builder().tableName(table).item(item);
        if (change.from().version() == 0) {
            put.conditionExpression("attribute_not_exists(pk)");
        } else {
            put.conditionExpression("v = :expected")
                    .expressionAttributeValues(Map.of(":expected",
                            AttributeValue.fromN(Long.toString(change.from().version()))));
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
    public Map<String, Membership> currentMembers(CohortRef cohort) {
        Map<String, Membership> members = new HashMap<>();
        Map<String, AttributeValue> start = null;
        do {
            QueryRequest.Builder q = QueryRequest.builder().tableName(table).consistentRead(true)
                    .keyConditionExpression("pk = :pk")
                    .filterExpression("m = :true")
                    .projectionExpression("sk, m, v, u")
                    .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Keys.membershipPk(cohort)),
                            ":true", AttributeValue.fromBool(true)));
            if (start != null) {
                q.exclusiveStartKey(start);
            }
            QueryResponse page;
            try {
                page = dynamo.query(q.build());
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "Query", e);
            }
            page.items().forEach(item -> members.put(item.get("sk").s(), membership(item)));
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return members;
    }

    private static Map<String, AttributeValue> key(String pk, String distinctId) {
        Map<String, AttributeValue> key = new HashMap<>();
        key.put(Keys.PK, AttributeValue.fromS(pk));
        key.put(Keys.SK, AttributeValue.fromS(distinctId));
        return key;
    }

    private static Membership membership(Map<String, AttributeValue> item) {
        AttributeValue u = item.get("u");
        return new Membership(Boolean.TRUE.equals(item.get("m").bool()), Long.parseLong(item.get("v").n()),
                u == null ? null : u.s());
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
