package io.cohortsync.cli;

import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.Shards;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

import java.time.Clock;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the membership items of the state table ({@link Keys}: a cohort's members spread over
 * {@link Shards#COUNT} partitions {@code M#<project>#<cohort>#<shard>}, {@code sk = <distinct id>})
 * through the webhook's own adapter, one shard page at a time, so a cohort of millions never has to
 * fit in memory at once.
 */
final class CohortTable {
    /** Items per page: one Query page of a shard. */
    static final int PAGE = 1_000;
    private static final Pattern ESCAPED = Pattern.compile("%2[35]");

    private final DynamoDbClient dynamo;
    private final String table;
    private final DynamoMembershipStore store;
    private final int pageSize;

    CohortTable(DynamoDbClient dynamo, String table, Clock clock) {
        this(dynamo, table, clock, PAGE);
    }

    /** @param pageSize items per Query page (tests use small pages to page through small shards) */
    CohortTable(DynamoDbClient dynamo, String table, Clock clock, int pageSize) {
        this.dynamo = dynamo;
        this.table = table;
        // Reads only: the commit concurrency and the exited members' TTL are never used here.
        this.store = new DynamoMembershipStore(dynamo, table, 1, Duration.ZERO, clock);
        this.pageSize = pageSize;
    }

    /**
     * Ids of the cohorts of {@code project} that have membership items, sorted: in shards, or still in
     * the single partition of earlier versions (not migrated yet). The table has no index by project, so
     * this is a Scan of the key attribute: it reads the whole table once (eventually consistent, 8 KB per
     * read unit: ~131,000 units, a few cents on demand, per GB of table).
     */
    List<String> cohortIds(String project) {
        return cohortIds(CohortRef.DEFAULT_CONNECTION, project);
    }

    /** As above, for the cohorts a given connection syncs. */
    List<String> cohortIds(String connection, String project) {
        String prefix = membershipPrefix(connection, project);
        TreeSet<String> ids = new TreeSet<>();
        Map<String, AttributeValue> start = null;
        do {
            ScanRequest.Builder scan = ScanRequest.builder().tableName(table)
                    .projectionExpression("pk")
                    .filterExpression("begins_with(pk, :prefix)")
                    .expressionAttributeValues(Map.of(":prefix", AttributeValue.fromS(prefix)));
            if (start != null) {
                scan.exclusiveStartKey(start);
            }
            ScanResponse page = dynamo.scan(scan.build());
            page.items().forEach(item -> ids.add(cohortId(item.get(Keys.PK).s().substring(prefix.length()))));
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return List.copyOf(ids);
    }

    /**
     * Hands each page of the cohort's stored membership to {@code page}, distinct id to membership,
     * shard after shard: members only ({@code m = true}) or, with {@code includeExits}, everyone stored
     * (exited members until their TTL). Strongly consistent. Never reads the old single partition: a
     * cohort still stored there has nothing in its shards until the reconciler migrated it.
     */
    void forEachPage(CohortRef cohort, boolean includeExits, Consumer<Map<String, Membership>> page) {
        forEachPage(cohort, includeExits, shard -> { }, page);
    }

    /** As above, telling {@code shardRead} each shard (0..15) once all its pages were handed over. */
    void forEachPage(CohortRef cohort, boolean includeExits, IntConsumer shardRead,
                     Consumer<Map<String, Membership>> page) {
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            String cursor = null;
            do {
                MembershipStore.ScanPage items = store.scan(cohort, shard, null, null, cursor, pageSize);
                Map<String, Membership> members = new LinkedHashMap<>();
                for (Map.Entry<String, Membership> item : items.items()) {
                    if (includeExits || item.getValue().member()) {
                        members.put(item.getKey(), item.getValue());
                    }
                }
                if (!members.isEmpty()) {
                    page.accept(members);
                }
                cursor = items.next();
            } while (cursor != null);
            shardRead.accept(shard);
        }
    }

    /** Whether the cohort still has items in the single partition of earlier versions. */
    boolean hasLegacyState(CohortRef cohort) {
        return store.hasLegacyState(cohort);
    }

    /** "M#<escaped project>#": the membership pk of any cohort of the project, up to the cohort id. */
    static String membershipPrefix(String project) {
        return membershipPrefix(CohortRef.DEFAULT_CONNECTION, project);
    }

    static String membershipPrefix(String connection, String project) {
        String any = Keys.legacyMembershipPk(new CohortRef(connection, project, "x"));
        return any.substring(0, any.length() - 1);
    }

    /**
     * The cohort id in what follows the prefix of a membership pk: {@code <escaped cohort>#<shard>}, or
     * {@code <escaped cohort>} in the old layout. An escaped id holds no {@code #}, so the last one
     * starts the shard.
     */
    static String cohortId(String afterPrefix) {
        int hash = afterPrefix.lastIndexOf('#');
        return unescape(hash < 0 ? afterPrefix : afterPrefix.substring(0, hash));
    }

    /** Undoes {@code Keys}' escaping of a key part ({@code %} → {@code %25}, {@code #} → {@code %23}), in one pass. */
    static String unescape(String part) {
        return ESCAPED.matcher(part).replaceAll(m -> Matcher.quoteReplacement(m.group().equals("%25") ? "%" : "#"));
    }
}
