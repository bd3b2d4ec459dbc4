package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortRegistry;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiConsumer;

/**
 * {@link CohortStore} on DynamoDB: one small item per cohort ({@code pk = C#…}, {@code sk = META}).
 * An item without {@code layout} is an earlier version's (it held only {@code name}): it reads as
 * absent, so the first request checks for old state to migrate.
 *
 * <p>The sync record lives on the same item ({@code fs}, {@code ls}, {@code la}, {@code sc}, {@code retiredAt});
 * the registry of cohorts is one small partition ({@code pk = REG#cohorts}, {@code sk} = SHA-256 of the cohort's
 * pk, base64url: a cohort pk of two 200-character ids can exceed the 1,024 bytes a sort key may hold; with the
 * cohort's connection, project and cohort id as attributes), written once per cohort, so the silence check finds
 * every cohort with a Query of it and a BatchGetItem of their items, never a read of membership.
 */
public final class DynamoCohortStore implements CohortStore, CohortRegistry {
    /** The sharded layout ({@code M#…#<shard>}). */
    static final int LAYOUT = 2;
    /** The registry partition. */
    static final String REGISTRY_PK = "REG#cohorts";
    /** BatchGetItem's limit. */
    private static final int BATCH = 100;

    private final DynamoDbClient dynamo;
    private final String table;
    private final Duration sessionTtl;
    private final Clock clock;

    /** @param sessionTtl how long a session's outcome is kept (as its page receipts) */
    public DynamoCohortStore(DynamoDbClient dynamo, String table, Duration sessionTtl, Clock clock) {
        this.dynamo = dynamo;
        this.table = table;
        this.sessionTtl = sessionTtl;
        this.clock = clock;
    }

    @Override
    public Optional<CohortState> load(CohortRef cohort) {
        GetItemResponse r;
        try {
            // Strongly consistent: a rename or a completed session seen by one request must be seen by the next.
            r = dynamo.getItem(b -> b.tableName(table).key(key(cohort)).consistentRead(true));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "GetItem", e);
        }
        if (!r.hasItem() || r.item().get("layout") == null) {
            return Optional.empty();
        }
        return Optional.of(state(r.item()));
    }

    static CohortState state(Map<String, AttributeValue> item) {
        Map<Long, String> names = new HashMap<>();
        AttributeValue stored = item.get("nh");
        if (stored != null && stored.hasM()) {
            stored.m().forEach((version, name) -> names.put(Long.parseLong(version), name.s()));
        }
        AttributeValue session = item.get("rsession");
        CohortState.Activity activity = item.get("ls") == null || item.get("la") == null ? null
                : new CohortState.Activity(instant(item, item.get("fs") != null ? "fs" : "ls"), instant(item, "ls"),
                item.get("la").s(), number(item, "sc", 1));
        return new CohortState(item.get("name").s(), number(item, "nv", 1), names, number(item, "epoch", 0),
                session == null ? null : session.s(), bool(item, "reconciling"), bool(item, "migrating"), activity,
                item.get("retiredAt") == null ? null : instant(item, "retiredAt"));
    }

    @Override
    public boolean create(CohortRef cohort, CohortState state) {
        Map<String, AttributeValue> item = new HashMap<>(key(cohort));
        item.put("layout", n(LAYOUT));
        item.put("name", AttributeValue.fromS(state.name()));
        item.put("nv", n(state.nameVersion()));
        item.put("nh", names(state));
        item.put("epoch", n(state.epoch()));
        item.put("reconciling", AttributeValue.fromBool(false));
        item.put("migrating", AttributeValue.fromBool(false));
        CohortState.Activity activity = state.activity();
        if (activity != null) {
            item.put("fs", n(activity.firstSeen().toEpochMilli()));
            item.put("ls", n(activity.lastSync().toEpochMilli()));
            item.put("la", AttributeValue.fromS(activity.lastAction()));
            item.put("sc", n(activity.syncs()));
        }
        try {
            dynamo.putItem(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(layout)"));
        } catch (ConditionalCheckFailedException e) {
            return false;
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
        if (activity != null) {
            register(cohort);
        }
        return true;
    }

    @Override
    public void recordSync(CohortRef cohort, CohortState read, Instant at, String action) {
        if (read.activity() == null) {
            // The first record (an item of an earlier version): enter the cohort in the registry first, so a
            // cohort with a record is always found by the check.
            register(cohort);
        }
        update(cohort, "SET ls = :at, la = :action, fs = if_not_exists(fs, :at) ADD sc :one REMOVE retiredAt", null,
                Map.of(":at", n(at.toEpochMilli()), ":action", AttributeValue.fromS(action), ":one", n(1)));
    }

    @Override
    public boolean finishRetirement(CohortRef cohort, long epoch, long syncsAtStart, Instant at) {
        Map<String, AttributeValue> values = new HashMap<>(Map.of(":false", AttributeValue.fromBool(false),
                ":true", AttributeValue.fromBool(true), ":at", n(at.toEpochMilli()), ":epoch", n(epoch)));
        String noCall = "attribute_not_exists(sc)";
        if (syncsAtStart > 0) {
            values.put(":sc", n(syncsAtStart));
            noCall = "sc = :sc";
        }
        return update(cohort, "SET reconciling = :false, retiredAt = :at",
                "epoch = :epoch AND reconciling = :true AND " + noCall, values);
    }

    @Override
    public void forEachCohort(BiConsumer<CohortRef, CohortState> each) {
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            QueryResponse page;
            try {
                page = dynamo.query(q -> q.tableName(table).keyConditionExpression("pk = :pk")
                        .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(REGISTRY_PK)))
                        .exclusiveStartKey(from));
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "Query", e);
            }
            Map<String, CohortRef> refs = new LinkedHashMap<>();
            for (Map<String, AttributeValue> entry : page.items()) {
                CohortRef ref = new CohortRef(entry.get("connection").s(), entry.get("projectId").s(),
                        entry.get("cohortId").s());
                refs.put(Keys.cohortPk(ref), ref);
            }
            List<String> pks = new ArrayList<>(refs.keySet());
            for (int i = 0; i < pks.size(); i += BATCH) {
                Map<String, Map<String, AttributeValue>> items = items(pks.subList(i, Math.min(pks.size(), i + BATCH)));
                for (String pk : pks.subList(i, Math.min(pks.size(), i + BATCH))) {
                    Map<String, AttributeValue> item = items.get(pk);
                    if (item != null && item.get("layout") != null) {
                        each.accept(refs.get(pk), state(item));
                    }
                }
            }
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
    }

    /** Cohort items by pk (eventually consistent: the check can be minutes late), unprocessed keys retried. */
    private Map<String, Map<String, AttributeValue>> items(List<String> pks) {
        Map<String, Map<String, AttributeValue>> found = new HashMap<>();
        List<Map<String, AttributeValue>> keys = pks.stream().map(pk -> Map.of(Keys.PK, AttributeValue.fromS(pk),
                Keys.SK, AttributeValue.fromS("META"))).toList();
        Map<String, KeysAndAttributes> request = Map.of(table, KeysAndAttributes.builder().keys(keys).build());
        for (int attempt = 0; !request.isEmpty(); attempt++) {
            if (attempt == 5) {
                throw new DependencyUnavailableException("DynamoDB",
                        "BatchGetItem kept leaving cohort items unprocessed", null);
            }
            Map<String, KeysAndAttributes> ask = request;
            BatchGetItemResponse r;
            try {
                r = dynamo.batchGetItem(b -> b.requestItems(ask));
            } catch (SdkException e) {
                throw AwsErrors.unavailable("DynamoDB", "BatchGetItem", e);
            }
            r.responses().getOrDefault(table, List.of()).forEach(item -> found.put(item.get(Keys.PK).s(), item));
            request = r.hasUnprocessedKeys() ? r.unprocessedKeys() : Map.of();
        }
        return found;
    }

    private void register(CohortRef cohort) {
        Map<String, AttributeValue> entry = Map.of(Keys.PK, AttributeValue.fromS(REGISTRY_PK),
                Keys.SK, AttributeValue.fromS(registryKey(cohort)),
                "connection", AttributeValue.fromS(cohort.connection()),
                "projectId", AttributeValue.fromS(cohort.projectId()),
                "cohortId", AttributeValue.fromS(cohort.cohortId()));
        try {
            dynamo.putItem(b -> b.tableName(table).item(entry));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
    }

    @Override
    public boolean rename(CohortRef cohort, CohortState current, CohortState next) {
        return update(cohort, "SET #name = :name, nv = :next, nh = :names", "nv = :current",
                Map.of(":name", AttributeValue.fromS(next.name()), ":next", n(next.nameVersion()),
                        ":names", names(next), ":current", n(current.nameVersion())));
    }

    @Override
    public boolean completeSession(CohortRef cohort, CohortState current, SessionKey session, int pages) {
        long epoch = current.epoch() + 1;
        Map<String, AttributeValue> outcome = DynamoSessionStore.outcomeItem(session,
                new SessionOutcome(SessionOutcome.Status.RECONCILING, epoch, 0, 0),
                n(clock.instant().plus(sessionTtl).getEpochSecond()));
        outcome.put("pages", n(pages));
        try {
            // One transaction: a session is RECONCILING exactly when the cohort moved to its epoch.
            dynamo.transactWriteItems(b -> b.transactItems(
                    TransactWriteItem.builder().update(u -> u.tableName(table).key(key(cohort))
                            .updateExpression("SET epoch = :epoch, rsession = :session, reconciling = :true")
                            .conditionExpression("epoch = :current")
                            .expressionAttributeValues(Map.of(":epoch", n(epoch), ":current", n(current.epoch()),
                                    ":session", AttributeValue.fromS(session.sessionId()),
                                    ":true", AttributeValue.fromBool(true)))).build(),
                    TransactWriteItem.builder().put(p -> p.tableName(table).item(outcome)
                            .conditionExpression("attribute_not_exists(pk)")).build()));
            return true;
        } catch (TransactionCanceledException e) {
            if (e.hasCancellationReasons() && e.cancellationReasons().stream().map(CancellationReason::code)
                    .anyMatch("ConditionalCheckFailed"::equals)) {
                return false;
            }
            throw AwsErrors.unavailable("DynamoDB", "TransactWriteItems", e);
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "TransactWriteItems", e);
        }
    }

    @Override
    public void finishReconcile(CohortRef cohort, long epoch) {
        // A newer session may have completed meanwhile: its pass is pending, leave its mark alone.
        update(cohort, "SET reconciling = :false", "epoch = :epoch",
                Map.of(":false", AttributeValue.fromBool(false), ":epoch", n(epoch)));
    }

    @Override
    public void startMigration(CohortRef cohort, String name) {
        update(cohort, "SET layout = :layout, migrating = :true, #name = if_not_exists(#name, :name), "
                        + "nv = if_not_exists(nv, :one), epoch = if_not_exists(epoch, :zero), "
                        + "nh = if_not_exists(nh, :none), reconciling = :false", null,
                Map.of(":layout", n(LAYOUT), ":true", AttributeValue.fromBool(true), ":name", AttributeValue.fromS(name),
                        ":one", n(1), ":zero", n(0), ":none", AttributeValue.fromM(Map.of()),
                        ":false", AttributeValue.fromBool(false)));
    }

    @Override
    public void finishMigration(CohortRef cohort) {
        update(cohort, "SET migrating = :false", null, Map.of(":false", AttributeValue.fromBool(false)));
    }

    /** @return false when {@code condition} failed */
    private boolean update(CohortRef cohort, String expression, String condition, Map<String, AttributeValue> values) {
        try {
            dynamo.updateItem(b -> {
                b.tableName(table).key(key(cohort)).updateExpression(expression).expressionAttributeValues(values);
                if (expression.contains("#name")) {
                    b.expressionAttributeNames(Map.of("#name", "name"));
                }
                if (condition != null) {
                    b.conditionExpression(condition);
                }
            });
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "UpdateItem", e);
        }
    }

    private static AttributeValue names(CohortState state) {
        Map<String, AttributeValue> m = new HashMap<>();
        state.names().forEach((version, name) -> m.put(Long.toString(version), AttributeValue.fromS(name)));
        return AttributeValue.fromM(m);
    }

    private static long number(Map<String, AttributeValue> item, String name, long fallback) {
        AttributeValue v = item.get(name);
        return v == null ? fallback : Long.parseLong(v.n());
    }

    /** The registry entry's sort key: fixed length, whatever the ids (a sort key holds at most 1,024 bytes). */
    static String registryKey(CohortRef cohort) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest(Keys.cohortPk(cohort).getBytes(StandardCharsets.UTF_8));
            return Base64.getUrlEncoder().withoutPadding().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }

    private static Instant instant(Map<String, AttributeValue> item, String name) {
        return Instant.ofEpochMilli(Long.parseLong(item.get(name).n()));
    }

    private static boolean bool(Map<String, AttributeValue> item, String name) {
        AttributeValue v = item.get(name);
        return v != null && Boolean.TRUE.equals(v.bool());
    }

    private static AttributeValue n(long value) {
        return AttributeValue.fromN(Long.toString(value));
    }

    static Map<String, AttributeValue> key(CohortRef cohort) {
        return Map.of(Keys.PK, AttributeValue.fromS(Keys.cohortPk(cohort)), Keys.SK, AttributeValue.fromS("META"));
    }
}
