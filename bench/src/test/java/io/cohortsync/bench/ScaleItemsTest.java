package io.cohortsync.bench;

import io.cohortsync.aws.DynamoCohortStore;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoReconcileStore;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.Exports;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.dynamodb.DynamoDbClient;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * bench-scale bills the adapters' items without the SDK: each size {@link ScaleItems} computes must
 * equal the size of the item the real adapter sends. The adapters run here on an SDK client whose HTTP
 * client answers from memory ({@link CannedAws}); a capturing interceptor keeps every request.
 */
class ScaleItemsTest {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Clock CLOCK = Clock.systemUTC();

    private final List<SdkRequest> requests = new CopyOnWriteArrayList<>();
    private final DynamoDbClient dynamo = DynamoDbClient.builder().region(Region.US_EAST_1)
            .httpClient(new CannedAws(false, "{}"))
            .credentialsProvider(StaticCredentialsProvider.create(AwsBasicCredentials.create("testing", "testing")))
            .endpointOverride(URI.create("http://127.0.0.1:9"))
            .overrideConfiguration(c -> c.addExecutionInterceptor(new ExecutionInterceptor() {
                @Override
                public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
                    requests.add(context.request());
                }
            })).build();

    @Test
    void membershipBytes_isTheSizeOfTheItemTheAdapterCommits_forEntersExitsAndMappedIds() {
        // given commits of an enter, an exit (with the exited TTL) and an enter with a mapped user id
        DynamoMembershipStore store = new DynamoMembershipStore(dynamo, "t", 1, Duration.ofDays(30), CLOCK);
        List<Change> changes = List.of(
                new Change("u1@example.com", Membership.ABSENT, new Membership(true, 1, null, 1, 0)),
                new Change("u2@example.com", new Membership(true, 7, null, 3, 2), new Membership(false, 8, null, 4, 0)),
                new Change("ü3@example.com", Membership.ABSENT, new Membership(true, 1, "crm-3", 12, 5)));

        // when
        for (Change c : changes) {
            store.commit(COHORT, List.of(c));
        }

        // then
        List<PutItemRequest> puts = requests.stream().filter(PutItemRequest.class::isInstance).map(PutItemRequest.class::cast).toList();
        assertThat(puts).hasSize(3);
        for (int i = 0; i < 3; i++) {
            Change c = changes.get(i);
            String pk = ScaleItems.membershipPk(COHORT, Shards.of(c.distinctId()));
            assertThat(puts.get(i).item().get(Keys.PK).s()).isEqualTo(pk);
            assertThat(ScaleItems.membershipBytes(pk, c.distinctId(), c.to(), true)).as(c.distinctId())
                    .isEqualTo(sized(puts.get(i).item()));
        }
    }

    @Test
    void pieceAndReceiptBytes_areTheSizesOfTheItemsTheSessionStoreWrites() {
        // given a page of 1,000 ids
        DynamoSessionStore sessions = new DynamoSessionStore(dynamo, "t", Duration.ofHours(72), CLOCK);
        SessionKey session = new SessionKey(COHORT, "7f0d#a%b");
        Set<String> ids = new LinkedHashSet<>(Exports.users("m", 0, 1000));

        // when
        sessions.recordPage(session, 3, 40, ids);

        // then every piece and the receipt are sized and keyed as ScaleItems says
        List<Map<String, AttributeValue>> pieces = new ArrayList<>();
        requests.stream().filter(BatchWriteItemRequest.class::isInstance).map(BatchWriteItemRequest.class::cast)
                .forEach(b -> b.requestItems().get("t").forEach(w -> pieces.add(w.putRequest().item())));
        assertThat(pieces).hasSize(Shards.COUNT);
        String pk = ScaleItems.sessionPk(session);
        for (Map<String, AttributeValue> piece : pieces) {
            String sk = piece.get(Keys.SK).s();
            int shard = Integer.parseInt(sk.substring(2, 4), 16);
            long packedBytes = piece.get("z").b().asByteArray().length;
            assertThat(piece.get(Keys.PK).s()).isEqualTo(pk);
            assertThat(ScaleItems.pieceBytes(pk, shard, 3, 0, packedBytes)).isEqualTo(sized(piece));
        }
        // and the receipt, written in one transaction with the page counter, is sized as ScaleItems says
        TransactWriteItemsRequest transaction = requests.stream().filter(TransactWriteItemsRequest.class::isInstance)
                .map(TransactWriteItemsRequest.class::cast).findFirst().orElseThrow();
        Map<String, AttributeValue> receipt = transaction.transactItems().get(0).put().item();
        assertThat(ScaleItems.receiptBytes(pk, 3, 40, Shards.COUNT, 1000)).isEqualTo(sized(receipt));
        assertThat(transaction.transactItems().get(1).update().key().get(Keys.SK).s()).isEqualTo("PAGES");
    }

    @Test
    void cohortOutcomeAndCheckpointBytes_matchTheAdapters() {
        // given
        DynamoCohortStore cohorts = new DynamoCohortStore(dynamo, "t", Duration.ofHours(72), CLOCK);
        DynamoReconcileStore progress = new DynamoReconcileStore(dynamo, "t", Duration.ofDays(30), CLOCK);
        CohortState state = CohortState.first("Power users (30d)");
        SessionKey session = new SessionKey(COHORT, "s-1");
        ReconcileJob job = new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, COHORT, 4, "s-1", 11, Instant.now());
        Checkpoint cp = Checkpoint.START.advanced("u9@example.com", 1000, 990, 10, 10);

        // when
        cohorts.create(COHORT, state);
        cohorts.completeSession(COHORT, state, session, 40);
        progress.save(job, Checkpoint.START, cp);

        // then
        List<PutItemRequest> puts = requests.stream().filter(PutItemRequest.class::isInstance).map(PutItemRequest.class::cast).toList();
        assertThat(ScaleItems.cohortBytes(COHORT, state)).isEqualTo(sized(puts.get(0).item()));
        TransactWriteItemsRequest tx = requests.stream().filter(TransactWriteItemsRequest.class::isInstance)
                .map(TransactWriteItemsRequest.class::cast).findFirst().orElseThrow();
        Map<String, AttributeValue> outcome = tx.transactItems().get(1).put().item();
        assertThat(ScaleItems.outcomeBytes(session, new SessionOutcome(SessionOutcome.Status.RECONCILING, 1, 0, 0), 40))
                .isEqualTo(sized(outcome));
        Map<String, AttributeValue> checkpoint = puts.get(1).item();
        assertThat(checkpoint.get(Keys.PK).s()).isEqualTo(ScaleItems.reconcilePk(COHORT));
        assertThat(ScaleItems.checkpointBytes(job, cp)).isEqualTo(sized(checkpoint));
    }

    @Test
    void smallItems_stayUnderOneWriteUnit_soBillingThemOneUnitEachIsExact() {
        ReconcileJob job = new ReconcileJob(ReconcileJob.Kind.EXIT_COUNT, COHORT, 123, "session-" + "x".repeat(60), 15,
                Instant.now());
        assertThat(ScaleItems.summaryBytes(job, Shards.COUNT)).isLessThan(DynamoBilling.WRITE_UNIT_BYTES);
        assertThat(ScaleItems.checkpointBytes(job, new Checkpoint(999, "p".repeat(40) + "@example.com",
                "c".repeat(40) + "@example.com", 10_000_000, 10_000_000, 100_000, 100_000, false)))
                .isLessThan(DynamoBilling.WRITE_UNIT_BYTES);
    }

    /**
     * The item's size with its clock-derived numbers (expiresAt: epoch seconds, updatedAt: milliseconds)
     * set to the fixed values ScaleItems sizes them with: the same digit count, but a clock value ending in
     * zeros is a byte shorter (DynamoDB trims them), which would make this test fail one run in ten.
     */
    private static int sized(Map<String, AttributeValue> item) {
        Map<String, AttributeValue> fixed = new HashMap<>(item);
        fixed.computeIfPresent(Keys.TTL, (k, v) -> AttributeValue.fromN("1800000000"));
        fixed.computeIfPresent("updatedAt", (k, v) -> AttributeValue.fromN("1795000000123"));
        return ItemSize.of(fixed);
    }

    @Test
    void numberBytes_agreesWithItemSizeNumber() {
        for (long v : new long[]{0, 1, 9, 10, 12, 100, 123, 1000, 99_999, 1_795_867_340L, 1_800_000_000L, Long.MAX_VALUE}) {
            assertThat(ScaleItems.numberBytes(v)).as(Long.toString(v)).isEqualTo(ItemSize.number(Long.toString(v)));
        }
    }
}
