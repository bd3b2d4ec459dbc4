package io.cohortsync.aws;

import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.Shards;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.ReturnValue;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemResponse;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * {@link ReconcileStore} on DynamoDB, in the cohort's {@code R#…} partition: summaries at
 * {@code S#<work>#<generation>} and checkpoints at {@code C#<work>#<generation>#<job kind>#<shard>},
 * where work is EXIT, RENAME or MIGRATE. Items expire by TTL.
 */
public final class DynamoReconcileStore implements ReconcileStore {
    private final DynamoDbClient dynamo;
    private final String table;
    private final Duration ttl;
    private final Clock clock;

    public DynamoReconcileStore(DynamoDbClient dynamo, String table, Duration ttl, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.ttl = ttl;
        this.clock = clock;
    }

    static String work(ReconcileJob.Kind kind) {
        return kind.work();
    }

    private static String summarySk(ReconcileJob job) {
        return "S#" + work(job.kind()) + "#" + String.format("%012d", job.generation());
    }

    private static String checkpointSk(ReconcileJob job) {
        return "C#" + work(job.kind()) + "#" + String.format("%012d", job.generation()) + "#" + job.kind() + "#"
                + Keys.shardKey(job.shard());
    }

    private static Map<String, AttributeValue> key(CohortRef cohort, String sk) {
        return Map.of(Keys.PK, AttributeValue.fromS(Keys.reconcilePk(cohort)), Keys.SK, AttributeValue.fromS(sk));
    }

    @Override
    public Optional<Checkpoint> checkpoint(ReconcileJob job) {
        Map<String, AttributeValue> item = get(key(job.cohort(), checkpointSk(job)));
        if (item == null) {
            return Optional.empty();
        }
        return Optional.of(new Checkpoint(n(item, "seq"), s(item, "ps"), s(item, "cur"), n(item, "scanned"),
                n(item, "members"), n(item, "matched"), n(item, "changed"),
                item.get("done") != null && Boolean.TRUE.equals(item.get("done").bool())));
    }

    @Override
    public boolean save(ReconcileJob job, Checkpoint previous, Checkpoint next) {
        Map<String, AttributeValue> item = new HashMap<>(key(job.cohort(), checkpointSk(job)));
        item.put("seq", num(next.seq()));
        if (next.passStart() != null) {
            item.put("ps", AttributeValue.fromS(next.passStart()));
        }
        if (next.cursor() != null) {
            item.put("cur", AttributeValue.fromS(next.cursor()));
        }
        item.put("scanned", num(next.scanned()));
        item.put("members", num(next.members()));
        item.put("matched", num(next.matched()));
        item.put("changed", num(next.changed()));
        item.put("done", AttributeValue.fromBool(next.done()));
        item.put("updatedAt", num(clock.millis()));
        item.put(Keys.TTL, expires());
        try {
            dynamo.putItem(b -> {
                b.tableName(table).item(item);
                if (previous.seq() == 0) {
                    b.conditionExpression("attribute_not_exists(pk)");
                } else {
                    b.conditionExpression("seq = :seq").expressionAttributeValues(Map.of(":seq", num(previous.seq())));
                }
            });
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
    }

    @Override
    public Summary report(ReconcileJob job, Checkpoint cp) {
        boolean counting = job.kind() == ReconcileJob.Kind.EXIT_COUNT;
        String set = counting ? "counted" : "done";
        Map<String, AttributeValue> values = new HashMap<>();
        values.put(":shard", AttributeValue.fromSs(List.of(Keys.shardKey(job.shard()))));
        values.put(":one", AttributeValue.fromS(Keys.shardKey(job.shard())));
        values.put(":kind", AttributeValue.fromS(work(job.kind())));
        values.put(":gen", num(job.generation()));
        values.put(":counting", AttributeValue.fromS(Phase.COUNTING.name()));
        values.put(":now", num(clock.millis()));
        values.put(":exp", expires());
        StringBuilder update = new StringBuilder("SET kind = :kind, gen = :gen, phase = if_not_exists(phase, :counting), "
                + "updatedAt = :now, " + Keys.TTL + " = :exp");
        if (job.sessionId() != null) {
            update.append(", rs = :session");
            values.put(":session", AttributeValue.fromS(job.sessionId()));
        }
        update.append(" ADD ").append(set).append(" :shard");
        if (counting) {
            update.append(", members :members, matched :matched");
            values.put(":members", num(cp.members()));
            values.put(":matched", num(cp.matched()));
        } else {
            update.append(", changed :changed, scanned :scanned");
            values.put(":changed", num(cp.changed()));
            values.put(":scanned", num(cp.scanned()));
            if (job.kind() != ReconcileJob.Kind.EXIT_APPLY) {
                update.append(", matched :matched, members :members");
                values.put(":matched", num(cp.matched()));
                values.put(":members", num(cp.members()));
            }
        }
        UpdateItemResponse r;
        try {
            r = dynamo.updateItem(b -> b.tableName(table).key(key(job.cohort(), summarySk(job)))
                    .updateExpression(update.toString())
                    // Once per shard and phase, however often a shard reports.
                    .conditionExpression("attribute_not_exists(" + set + ") OR NOT contains(" + set + ", :one)")
                    .expressionAttributeValues(values).returnValues(ReturnValue.ALL_NEW));
        } catch (ConditionalCheckFailedException e) {
            return summary(job).orElseThrow();
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "UpdateItem", e);
        }
        return summary(r.attributes());
    }

    @Override
    public boolean decide(ReconcileJob job, Phase decision) {
        try {
            dynamo.updateItem(b -> b.tableName(table).key(key(job.cohort(), summarySk(job)))
                    .updateExpression("SET phase = :decision, updatedAt = :now")
                    .conditionExpression("phase = :counting")
                    .expressionAttributeValues(Map.of(":decision", AttributeValue.fromS(decision.name()),
                            ":counting", AttributeValue.fromS(Phase.COUNTING.name()), ":now", num(clock.millis()))));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "UpdateItem", e);
        }
    }

    @Override
    public Optional<Summary> summary(ReconcileJob job) {
        Map<String, AttributeValue> item = get(key(job.cohort(), summarySk(job)));
        return item == null ? Optional.empty() : Optional.of(summary(item));
    }

    @Override
    public List<Summary> recent(CohortRef cohort, int limit) {
        List<Map<String, AttributeValue>> items = new ArrayList<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            QueryResponse page;
            try {
                page = dynamo.query(b -> {
                    b.tableName(table).keyConditionExpression("pk = :pk AND begins_with(sk, :s)")
                            .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Keys.reconcilePk(cohort)),
                                    ":s", AttributeValue.fromS("S#")));
                    if (from != null) {
                        b.exclusiveStartKey(from);
                    }
                });
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "Query", e);
            }
            items.addAll(page.items());
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return items.stream().sorted(Comparator.comparingLong((Map<String, AttributeValue> i) -> n(i, "updatedAt"))
                .reversed()).limit(limit).map(DynamoReconcileStore::summary).toList();
    }

    private static Summary summary(Map<String, AttributeValue> item) {
        int counted = item.get("counted") == null ? 0 : item.get("counted").ss().size();
        int done = item.get("done") == null ? 0 : item.get("done").ss().size();
        Phase phase = item.get("phase") == null ? Phase.COUNTING : Phase.valueOf(item.get("phase").s());
        String kind = s(item, "kind");
        int shards = "MIGRATE".equals(kind) ? 1 : Shards.COUNT; // the old layout is one partition
        if (done == shards) {
            phase = Phase.DONE;
        } else if (!"EXIT".equals(kind)) {
            phase = Phase.APPLY; // renames and migrations apply from the start
        }
        return new Summary(kind, n(item, "gen"), s(item, "rs"), phase, counted, done, n(item, "members"),
                n(item, "matched"), n(item, "changed"), n(item, "scanned"));
    }

    private Map<String, AttributeValue> get(Map<String, AttributeValue> key) {
        GetItemResponse r;
        try {
            r = dynamo.getItem(b -> b.tableName(table).key(key).consistentRead(true));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "GetItem", e);
        }
        return r.hasItem() && !r.item().isEmpty() ? r.item() : null;
    }

    private AttributeValue expires() {
        return num(clock.instant().plus(ttl).getEpochSecond());
    }

    private static long n(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null || v.n() == null ? 0 : Long.parseLong(v.n());
    }

    private static String s(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v == null ? null : v.s();
    }

    private static AttributeValue num(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }
}
