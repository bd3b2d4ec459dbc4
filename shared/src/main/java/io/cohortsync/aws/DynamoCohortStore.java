package io.cohortsync.aws;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.CohortStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.CancellationReason;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;

import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@link CohortStore} on DynamoDB: one small item per cohort ({@code pk = C#…}, {@code sk = META}).
 * An item without {@code layout} is an earlier version's (it held only {@code name}): it reads as
 * absent, so the first request checks for old state to migrate.
 */
public final class DynamoCohortStore implements CohortStore {
    /** The sharded layout ({@code M#…#<shard>}). */
    static final int LAYOUT = 2;

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
        return new CohortState(item.get("name").s(), number(item, "nv", 1), names, number(item, "epoch", 0),
                session == null ? null : session.s(), bool(item, "reconciling"), bool(item, "migrating"));
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
        try {
            dynamo.putItem(b -> b.tableName(table).item(item).conditionExpression("attribute_not_exists(layout)"));
            return true;
        } catch (ConditionalCheckFailedException e) {
            return false;
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
