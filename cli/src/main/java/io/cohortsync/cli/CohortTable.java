package io.cohortsync.cli;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Membership;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.ScanRequest;
import software.amazon.awssdk.services.dynamodb.model.ScanResponse;

import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads the membership items of the state table ({@link Keys}: {@code pk = M#<project>#<cohort>},
 * {@code sk = <distinct id>}, {@code m}, {@code v}, {@code u}) page by page, so a cohort of millions
 * never has to fit in memory at once.
 */
final class CohortTable {
    private static final Pattern ESCAPED = Pattern.compile("%2[35]");

    private final DynamoDbClient dynamo;
    private final String table;

    CohortTable(DynamoDbClient dynamo, String table) {
        this.dynamo = dynamo;
        this.table = table;
    }

    /**
     * Ids of the cohorts of {@code project} that have membership items, sorted. The table has no index
     * by project, so this is a Scan of the key attribute: it reads the whole table once (eventually
     * consistent, 8 KB per read unit: ~131,000 units, a few cents on demand, per GB of table).
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
            page.items().forEach(item -> ids.add(unescape(item.get(Keys.PK).s().substring(prefix.length()))));
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return List.copyOf(ids);
    }

    /**
     * Hands each page of the cohort's stored membership to {@code page}, distinct id to membership:
     * members only ({@code m = true}, as {@code DynamoMembershipStore.currentMembers} reads them) or,
     * with {@code includeExits}, everyone ever seen. Strongly consistent.
     */
    void forEachPage(CohortRef cohort, boolean includeExits, Consumer<Map<String, Membership>> page) {
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> values = new HashMap<>();
            values.put(":pk", AttributeValue.fromS(Keys.membershipPk(cohort)));
            QueryRequest.Builder q = QueryRequest.builder().tableName(table).consistentRead(true)
                    .keyConditionExpression("pk = :pk")
                    .projectionExpression("sk, m, v, u");
            if (!includeExits) {
                q.filterExpression("m = :true");
                values.put(":true", AttributeValue.fromBool(true));
            }
            q.expressionAttributeValues(values);
            if (start != null) {
                q.exclusiveStartKey(start);
            }
            QueryResponse response = dynamo.query(q.build());
            Map<String, Membership> items = new LinkedHashMap<>();
            for (Map<String, AttributeValue> item : response.items()) {
                if (item.get("m") != null && item.get("v") != null) {
                    items.put(item.get(Keys.SK).s(), membership(item));
                }
            }
            if (!items.isEmpty()) {
                page.accept(items);
            }
            start = response.hasLastEvaluatedKey() && !response.lastEvaluatedKey().isEmpty()
                    ? response.lastEvaluatedKey() : null;
        } while (start != null);
    }

    /** "M#<escaped project>#": the membership pk of any cohort of the project, up to the cohort id. */
    static String membershipPrefix(String project) {
        return membershipPrefix(CohortRef.DEFAULT_CONNECTION, project);
    }

    static String membershipPrefix(String connection, String project) {
        String any = Keys.membershipPk(new CohortRef(connection, project, "x"));
        return any.substring(0, any.length() - 1);
    }

    /** Undoes {@code Keys}' escaping of a key part ({@code %} → {@code %25}, {@code #} → {@code %23}), in one pass. */
    static String unescape(String part) {
        return ESCAPED.matcher(part).replaceAll(m -> Matcher.quoteReplacement(m.group().equals("%25") ? "%" : "#"));
    }

    private static Membership membership(Map<String, AttributeValue> item) {
        AttributeValue u = item.get("u");
        return new Membership(Boolean.TRUE.equals(item.get("m").bool()), Long.parseLong(item.get("v").n()),
                u == null ? null : u.s());
    }
}
