package io.cohortsync.aws;

import io.cohortsync.domain.Change;
import io.cohortsync.domain.Checkpoint;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileStore;
import io.cohortsync.domain.SessionKey;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The adapters the reconciler relies on, against moto: Query pages and cursors over a shard, the
 * completion transaction, per-shard reports with ADD / NOT contains on string sets and ALL_NEW, the
 * checkpoint's sequence condition, page ids split by shard in BatchWriteItem calls, the migration of
 * the old layout, and the race rule's conditional writes.
 */
@ExtendWith(MotoExtension.class)
class ReconcileAdaptersIT {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");
    private static final Clock CLOCK = Clock.systemUTC();

    private static DynamoMembershipStore members(AwsStack stack) {
        return new DynamoMembershipStore(stack.dynamo, stack.tableName, 4, Duration.ofDays(30), CLOCK);
    }

    /** {@code count} ids of the form {@code <prefix><n>} that fall into {@code shard}. */
    private static List<String> idsInShard(String prefix, int shard, int count) {
        List<String> ids = new ArrayList<>();
        for (int n = 0; ids.size() < count; n++) {
            if (Shards.of(prefix + n) == shard) {
                ids.add(prefix + n);
            }
        }
        return ids;
    }

    private static void enter(MembershipStore store, List<String> ids) {
        List<Change> changes = ids.stream()
                .map(id -> new Change(id, Membership.ABSENT, new Membership(true, 1, null, 1, 0))).toList();
        assertThat(store.commit(COHORT, changes)).isEmpty();
    }

    /** Every page of a range, from {@code start} (a cursor; null: the range's start) to the end. */
    private static List<MembershipStore.ScanPage> allPages(MembershipStore store, int shard, String from, String to,
                                                           String start, int limit) {
        List<MembershipStore.ScanPage> pages = new ArrayList<>();
        String cursor = start;
        do {
            MembershipStore.ScanPage page = store.scan(COHORT, shard, from, to, cursor, limit);
            pages.add(page);
            cursor = page.next();
            assertThat(pages).as("pages").hasSizeLessThan(100);
        } while (cursor != null);
        return pages;
    }

    private static List<String> keys(List<MembershipStore.ScanPage> pages) {
        return pages.stream().flatMap(p -> p.items().stream()).map(Map.Entry::getKey).toList();
    }

    @Test
    void scan_pagesThroughOneShard_withCursors_inDynamoDbsKeyOrder(AwsStack stack) {
        // given 25 users in shard 3, two more whose order differs between UTF-16 and code points, and
        // users of other shards
        DynamoMembershipStore store = members(stack);
        List<String> shard3 = new ArrayList<>(idsInShard("s", 3, 25));
        String bmp = idsInShard("\uFF5E", 3, 1).get(0);       // U+FF5E: after any surrogate in UTF-16
        String astral = idsInShard("\uD83D\uDE00", 3, 1).get(0); // U+1F600: after U+FF5E in code points
        assertThat(bmp.compareTo(astral)).as("UTF-16 order puts the emoji first").isPositive();
        assertThat(Shards.compareKeys(bmp, astral)).as("code-point order puts it last").isNegative();
        shard3.add(bmp);
        shard3.add(astral);
        enter(store, shard3);
        enter(store, idsInShard("o", 4, 10));
        List<String> sorted = shard3.stream().sorted(Shards::compareKeys).toList();

        // when the shard is read 10 at a time
        List<MembershipStore.ScanPage> pages = allPages(store, 3, null, null, null, 10);

        // then every user of the shard comes once, in code-point order (DynamoDB's: UTF-8 bytes), and nothing else
        assertThat(keys(pages)).containsExactlyElementsOf(sorted);
        assertThat(pages).extracting(p -> p.items().size()).containsExactly(10, 10, 7);
        assertThat(pages.get(0).next()).isEqualTo(sorted.get(9));
        assertThat(pages.get(0).items().get(0).getValue()).isEqualTo(new Membership(true, 1, null, 1, 0));

        // when the pages come out exactly full: real DynamoDB names the last key of a page that reached Limit
        // even when nothing follows (the Query docs: a LastEvaluatedKey "does not necessarily mean that there is
        // more data"), so the next page is empty; moto 5 leaves the key out on such a last page. The adapter must
        // end correctly either way (InMemoryState plays DynamoDB's way for the core tests).
        List<MembershipStore.ScanPage> exact = allPages(store, 3, null, null, null, 9);
        assertThat(keys(exact)).containsExactlyElementsOf(sorted);
        List<Integer> sizes = exact.stream().map(p -> p.items().size()).toList();
        assertThat(sizes).isIn(List.of(9, 9, 9), List.of(9, 9, 9, 0));
        assertThat(exact.getLast().next()).isNull();
    }

    @Test
    void scan_staysWithinInclusiveBounds_acrossCursors(AwsStack stack) {
        // given 25 users in shard 7
        DynamoMembershipStore store = members(stack);
        List<String> sorted = idsInShard("b", 7, 25).stream().sorted(Shards::compareKeys).toList();
        enter(store, sorted);

        // when a pass's range [5th, 13th] is read 3 at a time, and the ranges open at either end
        List<String> between = keys(allPages(store, 7, sorted.get(5), sorted.get(13), null, 3));
        List<String> from = keys(allPages(store, 7, sorted.get(20), null, null, 3));
        List<String> upTo = keys(allPages(store, 7, null, sorted.get(2), null, 2));
        List<String> resumed = keys(allPages(store, 7, sorted.get(5), sorted.get(13), sorted.get(8), 3));

        // then each holds exactly its range, both ends included; a cursor resumes after its key.
        // (Real DynamoDB refuses an ExclusiveStartKey outside the key condition with a ValidationException, "The
        // provided starting key is outside query boundaries based on provided condition"; moto need not. The
        // reconciler's cursors always lie inside their pass, because a pass's end is recomputed from the same
        // session ids and RECONCILE_PASS_IDS; changing RECONCILE_PASS_IDS while a pass is half done would break that.)
        assertThat(between).containsExactlyElementsOf(sorted.subList(5, 14));
        assertThat(from).containsExactlyElementsOf(sorted.subList(20, 25));
        assertThat(upTo).containsExactlyElementsOf(sorted.subList(0, 3));
        assertThat(resumed).containsExactlyElementsOf(sorted.subList(9, 14));
    }

    @Test
    void completeSession_movesTheEpochAndWritesTheOutcome_inOneTransaction_once(AwsStack stack) {
        // given a cohort at epoch 0
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), CLOCK);
        DynamoSessionStore sessions = new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), CLOCK);
        CohortState first = CohortState.first("Power users");
        assertThat(cohorts.create(COHORT, first)).isTrue();
        assertThat(cohorts.create(COHORT, first)).as("created once").isFalse();
        SessionKey s1 = new SessionKey(COHORT, "s1");
        SessionKey s2 = new SessionKey(COHORT, "s2");

        // when s1 completes
        assertThat(cohorts.completeSession(COHORT, first, s1, 3)).isTrue();

        // then both items changed: the cohort's epoch and pending pass, the session's outcome
        CohortState after = cohorts.load(COHORT).orElseThrow();
        assertThat(after.epoch()).isEqualTo(1);
        assertThat(after.reconciling()).isTrue();
        assertThat(after.reconcileSession()).isEqualTo("s1");
        assertThat(sessions.outcome(s1)).contains(new SessionOutcome(SessionOutcome.Status.RECONCILING, 1, 0, 0));
        Map<String, AttributeValue> outcomeItem = stack.dynamo.getItem(b -> b.tableName(stack.tableName)
                .key(Map.of("pk", AttributeValue.fromS(Keys.sessionPk(s1)), "sk", AttributeValue.fromS("OUTCOME"))))
                .item();
        assertThat(outcomeItem.get("pages").n()).isEqualTo("3");
        assertThat(outcomeItem).containsKey(Keys.TTL);

        // when s2 completes from the stale epoch (its outcome's own condition would pass), and s1 again from the
        // current one (the cohort's own condition would pass)
        boolean stale = cohorts.completeSession(COHORT, first, s2, 1);
        boolean again = cohorts.completeSession(COHORT, after, s1, 3);

        // then both are refused as a whole: neither half of either transaction landed
        assertThat(stale).isFalse();
        assertThat(again).isFalse();
        assertThat(sessions.outcome(s2)).isEmpty();
        assertThat(cohorts.load(COHORT).orElseThrow()).isEqualTo(after);

        // and the pass's end clears the mark only for its own epoch
        cohorts.finishReconcile(COHORT, 0);
        assertThat(cohorts.load(COHORT).orElseThrow().reconciling()).isTrue();
        cohorts.finishReconcile(COHORT, 1);
        assertThat(cohorts.load(COHORT).orElseThrow().reconciling()).isFalse();
    }

    @Test
    void rename_isConditionalOnTheNameVersionRead(AwsStack stack) {
        DynamoCohortStore cohorts = new DynamoCohortStore(stack.dynamo, stack.tableName, Duration.ofHours(72), CLOCK);
        CohortState first = CohortState.first("Old");
        cohorts.create(COHORT, first);

        boolean renamed = cohorts.rename(COHORT, first, first.renamed("New"));
        boolean raced = cohorts.rename(COHORT, first, first.renamed("Other"));

        assertThat(renamed).isTrue();
        assertThat(raced).isFalse();
        CohortState stored = cohorts.load(COHORT).orElseThrow();
        assertThat(stored.name()).isEqualTo("New");
        assertThat(stored.nameVersion()).isEqualTo(2);
        assertThat(stored.names()).isEqualTo(Map.of(1L, "Old", 2L, "New"));
        assertThat(stored.previousNameFor(1)).contains("Old");
    }

    @Test
    void report_addsEachShardOnce_toTheSummaryItReturns(AwsStack stack) {
        // given the 16 count jobs of one exit pass, each with a final checkpoint of 10 members, 2 absent
        DynamoReconcileStore progress = new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(30),
                CLOCK);
        List<ReconcileJob> counts = ReconcileJob.perShard(ReconcileJob.Kind.EXIT_COUNT, COHORT, 4, "s4", Instant.now());
        Checkpoint counted = new Checkpoint(3, null, null, 12, 10, 2, 0, true);

        // when shard 0 reports twice (a redelivery), then every shard reports
        ReconcileStore.Summary firstReport = progress.report(counts.get(0), counted);
        ReconcileStore.Summary repeated = progress.report(counts.get(0), counted);
        ReconcileStore.Summary last = null;
        for (ReconcileJob job : counts) {
            last = progress.report(job, counted);
        }

        // then shard 0 counted once, and the last report returns the whole (ReturnValues ALL_NEW)
        assertThat(firstReport).isEqualTo(new ReconcileStore.Summary("EXIT", 4, "s4", ReconcileStore.Phase.COUNTING,
                1, 0, 10, 2, 0, 0));
        assertThat(repeated).isEqualTo(firstReport);
        assertThat(last).isEqualTo(new ReconcileStore.Summary("EXIT", 4, "s4", ReconcileStore.Phase.COUNTING,
                16, 0, 160, 32, 0, 0));

        // when the pass is decided twice (the second by a redelivered last shard)
        boolean decided = progress.decide(counts.get(15), ReconcileStore.Phase.APPLY);
        boolean decidedAgain = progress.decide(counts.get(15), ReconcileStore.Phase.HELD);

        // then only the first decision counts
        assertThat(decided).isTrue();
        assertThat(decidedAgain).isFalse();
        assertThat(progress.summary(counts.get(3)).orElseThrow().phase()).isEqualTo(ReconcileStore.Phase.APPLY);

        // when every apply job reports (one twice): 2 exits, 12 items read each
        Checkpoint applied = new Checkpoint(5, null, null, 12, 10, 2, 2, true);
        ReconcileStore.Summary done = null;
        for (ReconcileJob job : counts) {
            done = progress.report(job.as(ReconcileJob.Kind.EXIT_APPLY), applied);
        }
        progress.report(counts.get(7).as(ReconcileJob.Kind.EXIT_APPLY), applied);

        // then the pass is done, exits and reads added once per shard, the counts of the count phase kept
        assertThat(done).isEqualTo(new ReconcileStore.Summary("EXIT", 4, "s4", ReconcileStore.Phase.DONE,
                16, 16, 160, 32, 32, 192));
        assertThat(progress.summary(counts.get(0))).contains(done);
        assertThat(progress.recent(COHORT, 5)).containsExactly(done);
    }

    @Test
    void save_advancesACheckpointOnlyFromTheOneItRead(AwsStack stack) {
        // given
        DynamoReconcileStore progress = new DynamoReconcileStore(stack.dynamo, stack.tableName, Duration.ofDays(30),
                CLOCK);
        ReconcileJob job = new ReconcileJob(ReconcileJob.Kind.EXIT_APPLY, COHORT, 2, "s2", 9, Instant.now());
        Checkpoint one = Checkpoint.START.advanced("u-17@example.com", 5, 5, 1, 1);
        Checkpoint two = one.nextPass("u-40@example.com");
        Checkpoint rival = Checkpoint.START.advanced("u-99@example.com", 9, 9, 9, 9);

        // when two copies of the job write their first chunk's checkpoint, then one the second
        boolean first = progress.save(job, Checkpoint.START, one);
        boolean copy = progress.save(job, Checkpoint.START, rival);
        boolean second = progress.save(job, one, two);
        boolean stale = progress.save(job, one, rival);

        // then only writes from the stored sequence land, and the checkpoint reads back whole
        assertThat(first).isTrue();
        assertThat(copy).isFalse();
        assertThat(second).isTrue();
        assertThat(stale).isFalse();
        assertThat(progress.checkpoint(job)).contains(two);
        assertThat(progress.checkpoint(job.as(ReconcileJob.Kind.EXIT_COUNT))).as("each phase its own").isEmpty();
        assertThat(progress.checkpoint(job.forShard(8))).as("each shard its own").isEmpty();
    }

    @Test
    void recordPage_writesItsIdsSplitByShard_inBatchWrites_thenItsReceipt(AwsStack stack) {
        // given a page of 3,000 ids, and a page whose ids of shard 5 exceed one piece (400 ids of ~1 KB)
        DynamoSessionStore sessions = new DynamoSessionStore(stack.dynamo, stack.tableName, Duration.ofHours(72), CLOCK);
        SessionKey session = new SessionKey(COHORT, "s-pages");
        Set<String> page1 = IntStream.range(0, 3000).mapToObj(i -> "p" + i + "@example.com")
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> page2 = new LinkedHashSet<>(idsInShard("x".repeat(990), 5, 400));
        page2.add(page1.iterator().next()); // an id on two pages

        // when both pages are recorded
        AwsRequestCounter.reset();
        sessions.recordPage(session, 1, 2, page1);
        Map<String, Long> firstPage = AwsRequestCounter.snapshot();
        sessions.recordPage(session, 2, 2, page2);

        // then the first page's 16 pieces went in one BatchWriteItem (25 items a call), its receipt and the page
        // counter in one transaction, and the counter was read back (one consistent GetItem)
        assertThat(firstPage).isEqualTo(Map.of("DynamoDb.BatchWriteItem", 1L, "DynamoDb.TransactWriteItems", 1L,
                "DynamoDb.GetItem", 1L));
        assertThat(sessions.pagesIfRecorded(session, 2)).hasValue(2);
        assertThat(sessions.pagesIfRecorded(session, 3)).isEmpty();
        // and recording a page again counts it once
        assertThat(sessions.recordPage(session, 2, 2, page2)).isEqualTo(2);
        // and each shard streams exactly its own ids, page by page (an id on two pages comes twice)
        List<String> streamed = new ArrayList<>();
        for (int shard = 0; shard < Shards.COUNT; shard++) {
            int s = shard;
            sessions.forEachExportedId(session, shard, id -> {
                assertThat(Shards.of(id)).isEqualTo(s);
                streamed.add(id);
            });
        }
        List<String> expected = new ArrayList<>(page1);
        expected.addAll(page2);
        assertThat(streamed).containsExactlyInAnyOrderElementsOf(expected);
        // and shard 5 of page 2 took two pieces, each under DynamoDB's 400 KB item limit
        List<Map<String, AttributeValue>> pieces = stack.dynamo.query(q -> q.tableName(stack.tableName)
                .keyConditionExpression("pk = :pk AND begins_with(sk, :p)")
                .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(Keys.sessionPk(session)),
                        ":p", AttributeValue.fromS("I#05#0000002#")))).items();
        assertThat(pieces).hasSize(2).allSatisfy(item -> {
            List<String> ids = new ArrayList<>();
            DynamoSessionStore.unpackIds(item.get("z").b().asByteArray(), ids::add);
            assertThat(ids.stream().mapToInt(String::length).sum()).isLessThanOrEqualTo(DynamoSessionStore.CHUNK_BYTES);
            assertThat(item.get("z").b().asByteArray().length).isLessThan(400_000);
            assertThat(item).containsKey(Keys.TTL);
        });
    }

    @Test
    void migrateLegacy_movesItemsIntoTheirShards_chunkByChunk_andANewerShardItemWins(AwsStack stack) {
        // given 12 users in the old single partition, one of whom is in its shard already (an earlier run of the
        // migration put it there and died before deleting the old item, or a newer write)
        DynamoMembershipStore store = members(stack);
        String legacy = Keys.legacyMembershipPk(COHORT);
        List<String> ids = IntStream.range(0, 12).mapToObj(i -> "l" + i + "@example.com").toList();
        for (String id : ids) {
            stack.dynamo.putItem(b -> b.tableName(stack.tableName).item(Map.of("pk", AttributeValue.fromS(legacy),
                    "sk", AttributeValue.fromS(id), "m", AttributeValue.fromBool(true),
                    "v", AttributeValue.fromN("3"), "u", AttributeValue.fromS("crm-" + id.length()))));
        }
        Membership already = new Membership(false, 1, null, 2, 0);
        assertThat(store.commit(COHORT, List.of(new Change(ids.get(0), Membership.ABSENT, already)))).isEmpty();
        assertThat(store.hasLegacyState(COHORT)).isTrue();

        // when migrated 5 at a time
        List<Integer> moved = new ArrayList<>();
        for (int n; (n = store.migrateLegacy(COHORT, 5)) > 0; ) {
            moved.add(n);
        }

        // then every item moved once, kept its fields (name version 1 added); the one in its shard was not overwritten
        assertThat(moved).containsExactly(5, 5, 2);
        assertThat(store.hasLegacyState(COHORT)).isFalse();
        Map<String, Membership> now = store.read(COHORT, ids, true);
        assertThat(now.get(ids.get(0))).isEqualTo(already);
        ids.subList(1, 12).forEach(id -> assertThat(now.get(id)).isEqualTo(new Membership(true, 3, "crm-" + id.length(),
                1, 0)));
    }

    @Test
    void markAndExitWrites_areConditional_asTheRaceRuleNeeds(AwsStack stack) {
        // given two members at version 1
        DynamoMembershipStore store = members(stack);
        List<String> ids = List.of("a@example.com", "b@example.com");
        enter(store, ids);
        Membership stored = new Membership(true, 1, null, 1, 0);

        // when a request marks a for epoch 3, and another's mark of b comes with a stale version
        Set<String> marked = store.mark(COHORT, Map.of(ids.get(0), stored), 3);
        Set<String> staleMark = store.mark(COHORT, Map.of(ids.get(1), new Membership(true, 7)), 3);

        // then a carries the mark, b's mark was refused
        assertThat(marked).isEmpty();
        assertThat(staleMark).containsExactly(ids.get(1));
        assertThat(store.read(COHORT, ids, true).get(ids.get(0)).listedEpoch()).isEqualTo(3);

        // when the pass of epoch 3 exits both (a was listed at 3, b never)
        Map<String, Membership> read = store.read(COHORT, ids, true);
        List<Change> exits = ids.stream().map(id -> new Change(id, read.get(id), read.get(id).next(false))).toList();
        Set<String> refused = store.commitUnlisted(COHORT, exits, 3);

        // then only b exits; a mark at the pass's epoch wins
        assertThat(refused).containsExactly(ids.get(0));
        Map<String, Membership> after = store.read(COHORT, ids, true);
        assertThat(after.get(ids.get(0)).member()).isTrue();
        assertThat(after.get(ids.get(1))).satisfies(m -> {
            assertThat(m.member()).isFalse();
            assertThat(m.version()).isEqualTo(2);
        });
        Set<String> keys = new HashSet<>(stack.dynamo.getItem(b -> b.tableName(stack.tableName)
                .key(Map.of("pk", AttributeValue.fromS(Keys.membershipPk(COHORT, ids.get(1))),
                        "sk", AttributeValue.fromS(ids.get(1))))).item().keySet());
        assertThat(keys).contains(Keys.TTL);
    }
}
