package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.HistoryEntry;
import io.cohortsync.domain.SyncHistory;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@link SyncHistory} on DynamoDB: one item per call, {@code pk = H#<project>#<cohort>},
 * {@code sk = observedAt} (fixed-width UTC, so items sort by time), expiring by TTL.
 */
public final class DynamoSyncHistory implements SyncHistory {
    /** Fixed width (nanoseconds always printed) so the sort key orders by time. */
    static final DateTimeFormatter SORT_KEY = DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSSSSSSSS'Z'")
            .withZone(ZoneOffset.UTC);

    private final DynamoDbClient dynamo;
    private final String table;
    private final Duration ttl;
    private final Clock clock;

    public DynamoSyncHistory(DynamoDbClient dynamo, String table, Duration ttl, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.ttl = ttl;
        this.clock = clock;
    }

    static String pk(CohortRef cohort) {
        return Keys.historyPk(cohort);
    }

    @Override
    public void record(HistoryEntry e) {
        Map<String, AttributeValue> item = new HashMap<>();
        item.put(Keys.PK, AttributeValue.fromS(pk(e.cohort())));
        item.put(Keys.SK, AttributeValue.fromS(SORT_KEY.format(e.observedAt())));
        item.put(Keys.TTL, n(clock.instant().plus(ttl).getEpochSecond()));
        if (e.requestId() != null) {
            item.put("requestId", AttributeValue.fromS(e.requestId()));
        }
        item.put("action", AttributeValue.fromS(e.action()));
        if (e.sessionId() != null) {
            item.put("sessionId", AttributeValue.fromS(e.sessionId()));
        }
        item.put("page", n(e.page()));
        item.put("totalPages", n(e.totalPages()));
        item.put("members", n(e.membersReceived()));
        Map<String, AttributeValue> skipped = new HashMap<>();
        e.skipped().forEach((k, v) -> skipped.put(k, n(v)));
        item.put("skipped", AttributeValue.fromM(skipped));
        item.put("enters", n(e.enters()));
        item.put("exits", n(e.exits()));
        item.put("unchanged", n(e.unchanged()));
        item.put("renamed", n(e.renamed()));
        item.put("session", AttributeValue.fromS(e.session()));
        item.put("sessionExits", n(e.sessionExits()));
        item.put("status", n(e.status()));
        item.put("outcome", AttributeValue.fromS(e.outcome()));
        item.put("durationMs", AttributeValue.fromN(Double.toString(e.durationMs())));
        item.put("sent", n(e.sent()));
        item.put("rejected", n(e.rejected()));
        item.put("wouldSend", n(e.wouldSend()));
        if (e.anonymous() > 0) {
            item.put("anonymous", n(e.anonymous()));
        }
        if (e.integrationId() != null) {
            item.put("integrationId", AttributeValue.fromS(e.integrationId()));
        }
        if (!e.unknownFields().isEmpty()) {
            item.put("unknownFields", AttributeValue.fromL(e.unknownFields().stream().map(AttributeValue::fromS).toList()));
        }
        try {
            dynamo.putItem(b -> b.tableName(table).item(item));
        } catch (SdkException ex) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem (history)", ex);
        }
    }

    @Override
    public void addDelivered(CohortRef cohort, Instant observedAt, long sent, long rejected, long wouldSend) {
        try {
            dynamo.updateItem(b -> b.tableName(table)
                    .key(Map.of(Keys.PK, AttributeValue.fromS(pk(cohort)),
                            Keys.SK, AttributeValue.fromS(SORT_KEY.format(observedAt))))
                    .updateExpression("ADD sent :s, rejected :r, wouldSend :w")
                    .conditionExpression("attribute_exists(pk)")
                    .expressionAttributeValues(Map.of(":s", n(sent), ":r", n(rejected), ":w", n(wouldSend))));
        } catch (ConditionalCheckFailedException gone) {
            // No entry: history off when the call was made, expired, or a backfill (no call). Nothing to add to.
        } catch (SdkException ex) {
            throw AwsErrors.unavailable("DynamoDB", "UpdateItem (history)", ex);
        }
    }

    @Override
    public List<HistoryEntry> recent(CohortRef cohort, int limit) {
        List<Map<String, AttributeValue>> items;
        try {
            items = dynamo.query(q -> q.tableName(table).keyConditionExpression("pk = :pk")
                    .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(pk(cohort))))
                    .scanIndexForward(false).limit(limit)).items();
        } catch (SdkException ex) {
            throw AwsErrors.unavailable("DynamoDB", "Query (history)", ex);
        }
        List<HistoryEntry> entries = new ArrayList<>();
        for (Map<String, AttributeValue> i : items) {
            Map<String, Integer> skipped = new HashMap<>();
            if (i.get("skipped") != null) {
                i.get("skipped").m().forEach((k, v) -> skipped.put(k, Integer.parseInt(v.n())));
            }
            HistoryEntry.Asked asked = new HistoryEntry.Asked(s(i, "action"), s(i, "sessionId"), num(i, "page"),
                    num(i, "totalPages"), num(i, "members"), skipped, s(i, "integrationId"),
                    i.get("unknownFields") == null ? List.of()
                            : i.get("unknownFields").l().stream().map(AttributeValue::s).toList(),
                    num(i, "anonymous"));
            HistoryEntry.Changed changed = new HistoryEntry.Changed(num(i, "enters"), num(i, "exits"),
                    num(i, "unchanged"), num(i, "renamed"), s(i, "session"), num(i, "sessionExits"));
            HistoryEntry.Answered answered = new HistoryEntry.Answered(num(i, "status"), s(i, "outcome"),
                    i.get("durationMs") == null ? 0 : Double.parseDouble(i.get("durationMs").n()));
            entries.add(HistoryEntry.of(cohort, Instant.from(SORT_KEY.parse(i.get(Keys.SK).s())), s(i, "requestId"),
                    asked, changed, answered, new HistoryEntry.Delivered(num(i, "sent"), num(i, "rejected"),
                            num(i, "wouldSend"))));
        }
        return entries;
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    private static String s(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null ? null : v.s();
    }

    private static int num(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null ? 0 : Integer.parseInt(v.n());
    }
}
