package io.cohortsync.aws;

import io.cohortsync.domain.CohortNames;
import io.cohortsync.domain.CohortRef;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.GetItemResponse;

import java.util.Map;
import java.util.Optional;

/** {@link CohortNames} on DynamoDB: one small item per cohort ({@code pk = C#…}, {@code sk = META}). */
public final class DynamoCohortNames implements CohortNames {
    private final DynamoDbClient dynamo;
    private final String table;

    public DynamoCohortNames(DynamoDbClient dynamo, String table) {
        this.dynamo = dynamo;
        this.table = table;
    }

    @Override
    public Optional<String> get(CohortRef cohort) {
        GetItemResponse r;
        try {
            // Strongly consistent: a rename seen by one request must not be re-detected by the next.
            r = dynamo.getItem(b -> b.tableName(table).key(key(cohort)).consistentRead(true)
                    .projectionExpression("#n").expressionAttributeNames(Map.of("#n", "name")));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "GetItem", e);
        }
        if (!r.hasItem() || r.item().get("name") == null) {
            return Optional.empty();
        }
        return Optional.of(r.item().get("name").s());
    }

    @Override
    public void put(CohortRef cohort, String name) {
        Map<String, AttributeValue> item = new java.util.HashMap<>(key(cohort));
        item.put("name", AttributeValue.fromS(name));
        try {
            dynamo.putItem(b -> b.tableName(table).item(item));
        } catch (SdkException e) {
            throw AwsErrors.unavailable("DynamoDB", "PutItem", e);
        }
    }

    private static Map<String, AttributeValue> key(CohortRef cohort) {
        return Map.of(Keys.PK, AttributeValue.fromS(Keys.cohortPk(cohort)), Keys.SK, AttributeValue.fromS("META"));
    }
}
