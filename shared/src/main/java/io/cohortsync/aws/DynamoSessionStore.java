package io.cohortsync.aws;

import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.SessionStore;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * {@link SessionStore} on DynamoDB. A page's ids are written first (packed into string-set items of
 * at most {@link #CHUNK_BYTES}, under the 400 KB item limit), then its small receipt, so a receipt
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
    public void recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds) {
        String pk = Keys.sessionPk(session);
        AttributeValue expires = expiresAt();
        List<List<String>> chunks = chunks(distinctIds);
        for (int i = 0; i < chunks.size(); i++) {
            Map<String, AttributeValue> item = item(pk, "I#" + pageKey(page) + "#" + i, expires);
            item.put("ids", AttributeValue.fromSs(chunks.get(i)));
            put(item);
        }
        Map<String, AttributeValue> receipt = item(pk, "P#" + pageKey(page), expires);
        receipt.put("total", AttributeValue.fromN(Integer.toString(totalPages)));
        receipt.put("chunks", AttributeValue.fromN(Integer.toString(chunks.size())));
        receipt.put("members", AttributeValue.fromN(Integer.toString(distinctIds.size())));
        put(receipt);
    }

    @Override
    public Set<Integer> receivedPages(SessionKey session) {
        Set<Integer> pages = new HashSet<>();
        query(session, "P#", "sk", item -> pages.add(Integer.parseInt(item.get("sk").s().substring(2))));
        return pages;
    }

    @Override
    public Set<String> exportedIds(SessionKey session) {
        Set<String> ids = new HashSet<>();
        query(session, "I#", "ids", item -> ids.addAll(item.get("ids").ss()));
        return ids;
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
        return Optional.of(new SessionOutcome(SessionOutcome.Status.valueOf(item.get("status").s()),
                Integer.parseInt(item.get("members").n()), Integer.parseInt(item.get("exits").n())));
    }

    @Override
    public void recordOutcome(SessionKey session, SessionOutcome outcome) {
        Map<String, AttributeValue> item = item(Keys.sessionPk(session), "OUTCOME", expiresAt());
        item.put("status", AttributeValue.fromS(outcome.status().name()));
        item.put("members", AttributeValue.fromN(Integer.toString(outcome.members())));
        item.put("exits", AttributeValue.fromN(Integer.toString(outcome.exits())));
        put(item);
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

    private AttributeValue expiresAt() {
        return AttributeValue.fromN(Long.toString(clock.instant().plus(ttl).getEpochSecond()));
    }

    private static Map<String, AttributeValue> item(String pk, String sk, AttributeValue expires) {
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

    private static List<List<String>> chunks(Set<String> ids) {
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
