package io.cohortsync.sender;

import com.amazonaws.services.lambda.runtime.events.SQSBatchResponse;
import com.fasterxml.jackson.databind.JsonNode;
import io.cohortsync.aws.SqsDeadLetterQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.Membership;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.MessageIds;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Infrastructure;
import io.cohortsync.testkit.JsonFields;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.SegmentStandIn;
import io.cohortsync.testkit.SqsEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.sqs.model.Message;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

import static io.cohortsync.sender.SenderHarness.COHORT;
import static io.cohortsync.sender.SenderHarness.TRAIT;
import static io.cohortsync.sender.SenderHarness.deltaAt;
import static io.cohortsync.sender.SenderHarness.failedIds;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The real sender against moto (table, queues, secret) and a Segment stand-in over HTTP, driven with
 * SQS events built from messages received from the moto queue.
 */
@ExtendWith(MotoExtension.class)
class SenderIT {
    private static final String ALICE = "alice@example.com";
    private static final String BOB = "bob@example.com";
    private static final String CAROL = "carol@example.com";

    private SegmentStandIn segment;
    private SenderHarness sender;

    @BeforeEach
    void startSegment() {
        segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
    }

    @AfterEach
    void stopSegmentAndCheckLogs() {
        segment.close();
        if (sender != null) {
            // No distinct id (all test users are emails at example.com) and no write key in any log line.
            assertThat(sender.logText()).doesNotContain("@example.com").doesNotContain("wk-");
            assertThat(segment.droppedOverLimit()).isZero();
            assertThat(segment.droppedInvalid()).isZero();
        }
    }

    private SenderHarness sender(AwsStack stack) {
        return sender(stack, Map.of());
    }

    private SenderHarness sender(AwsStack stack, Map<String, String> overrides) {
        sender = new SenderHarness(stack, segment, overrides);
        return sender;
    }

    // ---- ordering: the table decides, not the queue

    @Test
    void handleRequest_endsWithExit_whenEnterAndExitDeliveredInOrder(AwsStack stack) {
        // given an enter, committed and delivered, then the exit
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        Delta exit = s.delta(ALICE, false, 2);
        s.enqueue(enter);
        s.commit(enter);

        // when
        SQSBatchResponse first = s.poll();
        s.enqueue(exit);
        s.commit(exit);
        SQSBatchResponse second = s.poll();

        // then
        assertThat(failedIds(first)).isEmpty();
        assertThat(failedIds(second)).isEmpty();
        assertThat(segment.acceptedIdentifies()).extracting(m -> m.path("traits").path(TRAIT).booleanValue())
                .containsExactly(true, false);
        assertThat(segment.finalTraits().get(ALICE).get(TRAIT).booleanValue()).isFalse();
    }

    @Test
    void handleRequest_neverSendsOlderChange_whenExitDeliveredBeforeEnter(AwsStack stack) {
        // given enter (v1) and exit (v2) both committed, in two queue messages
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        Delta exit = s.delta(ALICE, false, 2);
        s.enqueueSeparately(enter, exit);
        s.commit(enter);
        s.commit(exit);
        List<Message> messages = s.receive();
        Message enterMessage = messages.stream().filter(m -> DeltaCodec.decode(m.body()).contains(enter)).findFirst().orElseThrow();
        Message exitMessage = messages.stream().filter(m -> DeltaCodec.decode(m.body()).contains(exit)).findFirst().orElseThrow();

        // when SQS delivers them reversed: the exit first, the enter in a later batch
        SQSBatchResponse first = s.invoke(List.of(exitMessage));
        SQSBatchResponse second = s.invoke(List.of(enterMessage));

        // then the enter is dropped as stale, and Segment ends with the exit
        assertThat(failedIds(first)).isEmpty();
        assertThat(failedIds(second)).isEmpty();
        assertThat(segment.requests()).hasSize(1);
        assertThat(segment.finalTraits().get(ALICE).get(TRAIT).booleanValue()).isFalse();
        assertThat(s.lastSummary().path("stale").asInt()).isEqualTo(1);
        assertThat(JsonFields.count(s.lastSummary(), "sent")).isZero();
    }

    @Test
    void handleRequest_sendsOnlyCurrentChange_whenEnterAndExitInOneBatch(AwsStack stack) {
        // given
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        Delta exit = s.delta(ALICE, false, 2);
        s.enqueueSeparately(exit, enter);
        s.commit(enter);
        s.commit(exit);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.acceptedIdentifies()).singleElement()
                .satisfies(m -> assertThat(m.path("traits").path(TRAIT).booleanValue()).isFalse());
    }

    @Test
    void handleRequest_dropsStaleDelta_whenTableIsNewer(AwsStack stack) {
        // given the table already at v2 and only the v1 delta delivered
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.commit(enter);
        s.commit(s.delta(ALICE, false, 2));
        s.enqueue(enter);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).isEmpty();
        assertThat(s.lastSummary().path("stale").asInt()).isEqualTo(1);
    }

    // ---- duplicates

    @Test
    void handleRequest_segmentAcceptsOnce_whenMessageDeliveredTwice(AwsStack stack) {
        // given one committed change, delivered twice by SQS (at-least-once)
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        List<Message> messages = s.receive();

        // when
        SQSBatchResponse first = s.invoke(messages);
        SQSBatchResponse second = s.invoke(messages);

        // then both requests carry the same messageId, and Segment keeps one
        assertThat(failedIds(first)).isEmpty();
        assertThat(failedIds(second)).isEmpty();
        assertThat(segment.requests()).hasSize(2);
        assertThat(segment.requests().get(0).messages().getFirst().path("messageId"))
                .isEqualTo(segment.requests().get(1).messages().getFirst().path("messageId"));
        assertThat(segment.acceptedIdentifies()).hasSize(1);
        assertThat(segment.duplicates()).isEqualTo(1);
    }

    @Test
    void handleRequest_sendsOnce_whenSameDeltaTwiceInOneBatch(AwsStack stack) {
        // given the same delta queued in two messages (a webhook retry re-queues the same change)
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueueSeparately(enter, enter);
        s.commit(enter);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).singleElement().satisfies(r -> assertThat(r.messages()).hasSize(1));
        assertThat(s.lastSummary().path("records").asInt()).isEqualTo(2);
        assertThat(s.lastSummary().path("duplicates").asInt()).isEqualTo(1);
    }

    // ---- Segment trouble

    @Test
    void handleRequest_succeedsAfterRetryAfter_whenSegmentAnswers429(AwsStack stack) {
        // given
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        segment.failNext(1, 429, 1);

        // when
        SQSBatchResponse response = s.poll();

        // then the retry came no sooner than Retry-After said
        assertThat(failedIds(response)).isEmpty();
        List<SegmentStandIn.RecordedRequest> requests = segment.requests();
        assertThat(requests).extracting(SegmentStandIn.RecordedRequest::status).containsExactly(429, 200);
        assertThat(Duration.between(requests.get(0).receivedAt(), requests.get(1).receivedAt()))
                .isGreaterThanOrEqualTo(Duration.ofMillis(990));
        assertThat(segment.acceptedIdentifies()).hasSize(1);
        assertThat(s.lastSummary().path("segmentRequestsByStatus").path("429").asInt()).isEqualTo(1);
        assertThat(s.lastSummary().path("retries").asInt()).isEqualTo(1);
    }

    @Test
    void handleRequest_succeedsAfterBackoff_whenSegmentAnswers5xx(AwsStack stack) {
        // given
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        segment.failNext(1, 500);
        segment.failNext(1, 503);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).extracting(SegmentStandIn.RecordedRequest::status).containsExactly(500, 503, 200);
        assertThat(segment.acceptedIdentifies()).hasSize(1);
    }

    @Test
    void handleRequest_succeedsOnRetry_whenFirstRequestTimesOut(AwsStack stack) {
        // given Segment takes the batch but answers after the client's 500 ms timeout
        SenderHarness s = sender(stack, Map.of("SEGMENT_TIMEOUT_MS", "500"));
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        segment.delayNext(1, Duration.ofSeconds(3));

        // when
        SQSBatchResponse response = s.poll();

        // then the resend carried the same messageId, so Segment kept one copy
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).hasSize(2);
        assertThat(segment.acceptedIdentifies()).hasSize(1);
        assertThat(segment.duplicates()).isEqualTo(1);
        assertThat(s.lastSummary().path("segmentRequestsByStatus").path("timeout").asInt()).isEqualTo(1);
    }

    @Test
    void handleRequest_reportsFailureWithoutWaitingPastDeadline_whenSegmentTooSlow(AwsStack stack) {
        // given 2 s of budget left after the margin, and Segment slower than the 500 ms timeout every time
        SenderHarness s = sender(stack, Map.of("SEGMENT_TIMEOUT_MS", "500"));
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        segment.delayNext(100, Duration.ofSeconds(10));
        List<Message> messages = s.receive();
        Duration remaining = SenderService.DEADLINE_MARGIN.plusSeconds(2);

        // when
        long started = System.nanoTime();
        SQSBatchResponse response = s.invoke(messages, remaining);
        Duration took = Duration.ofNanos(System.nanoTime() - started);

        // then
        assertThat(failedIds(response)).containsExactly(messages.getFirst().messageId());
        assertThat(took).isLessThan(Duration.ofMillis(2_800)).isLessThan(remaining);
        assertThat(s.lastSummary().path("failureReasons").toString()).contains("deadline");
    }

    @Test
    void handleRequest_sendsNothingAndFails_whenRemainingTimeIsBelowMargin(AwsStack stack) {
        // given
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);
        List<Message> messages = s.receive();

        // when
        SQSBatchResponse response = s.invoke(messages, Duration.ofSeconds(3));

        // then
        assertThat(failedIds(response)).containsExactly(messages.getFirst().messageId());
        assertThat(segment.requests()).isEmpty();
    }

    @Test
    void handleRequest_failsEveryRecord_whenSegmentDownForWholeInvocation(AwsStack stack) {
        // given three queue messages and Segment answering 503 to everything
        SenderHarness s = sender(stack, Map.of("MAX_RECEIVE_COUNT", "2"));
        Delta a = s.delta(ALICE, true, 1);
        Delta b = s.delta(BOB, true, 1);
        Delta c = s.delta(CAROL, true, 1);
        s.enqueueSeparately(a, b, c);
        s.commit(a, b, c);
        segment.failNext(10_000, 503);
        List<Message> messages = s.receive();
        Duration remaining = SenderService.DEADLINE_MARGIN.plusSeconds(4);

        // when
        SQSBatchResponse response = s.invoke(messages, remaining);

        // then every record comes back, in the exact shape Lambda expects
        String expected = "{\"batchItemFailures\":[" + String.join(",", messages.stream()
                .map(m -> "{\"itemIdentifier\":\"" + m.messageId() + "\"}").toList()) + "]}";
        assertThat(SqsEvents.toJson(response)).isEqualTo(expected);
        assertThat(segment.acceptedIdentifies()).isEmpty();

        // and when SQS delivers them a second time (receive count 2 = MAX_RECEIVE_COUNT), the log says they go to the DLQ next
        SqsEvents.settle(stack.sqs, stack.queueUrl, messages, response);
        SQSBatchResponse again = s.poll(remaining);
        assertThat(failedIds(again)).hasSize(3);
        assertThat(s.logLines()).filteredOn(l -> l.path("message").asText().contains("maxReceiveCount"))
                .singleElement().satisfies(l -> {
                    assertThat(l.path("level").asText()).isEqualTo("ERROR");
                    assertThat(l.path("count").asInt()).isEqualTo(3);
                    assertThat(l.path("reasons").toString()).contains("503");
                });

        // and once Segment is back, the next delivery converges
        segment.recover();
        SQSBatchResponse recovered = s.poll();
        assertThat(failedIds(recovered)).isEmpty();
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE, BOB, CAROL);
    }

    @Test
    void handleRequest_keepsRecordsAndSaysTheKeyIsNotSet_whenTheSecretHoldsTheDeployPlaceholder(AwsStack stack)
            throws InterruptedException {
        // given the Segment secret as a fresh stack creates it (template.yaml SegmentWriteKeySecret), before
        // the operator ran put-secret-value (README Deploy step 4)
        Infrastructure.putSecret(stack.secrets, stack.segmentSecretId, "{\"writeKey\":\"\"}");
        SenderHarness s = sender(stack, Map.of("SECRET_CACHE_SECONDS", "1")); // the stored key is read a second later
        Delta a = s.delta(ALICE, true, 1);
        s.enqueue(a);
        s.commit(a);

        // when
        SQSBatchResponse response = s.poll();

        // then nothing goes to Segment with a bogus key, the record comes back (retried, never dropped) ...
        assertThat(failedIds(response)).hasSize(1);
        assertThat(segment.requests()).isEmpty();
        // ... and the log says why, in words an operator can act on
        JsonNode summary = s.lastSummary();
        assertThat(summary.path("level").asText()).isEqualTo("WARN");
        assertThat(summary.path("failureReasons").toString()).contains("Segment write key not set")
                .contains("put-secret-value");

        // and once the key is stored, the redelivery goes through
        Infrastructure.putSecret(stack.secrets, stack.segmentSecretId,
                "{\"writeKey\":\"" + AwsStack.SEGMENT_WRITE_KEY + "\"}");
        Thread.sleep(1_100); // past SECRET_CACHE_SECONDS
        assertThat(failedIds(s.poll())).isEmpty();
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE);
    }

    @Test
    void handleRequest_rereadsSecretAndSucceeds_whenWriteKeyRotated(AwsStack stack) {
        // given a first batch sent with the original key (now cached)
        SenderHarness s = sender(stack);
        Delta a = s.delta(ALICE, true, 1);
        s.enqueue(a);
        s.commit(a);
        assertThat(failedIds(s.poll())).isEmpty();
        // and the key rotated at Segment and in Secrets Manager
        String rotated = "wk-rotated-8c1e55";
        segment.rotateWriteKey(rotated);
        Infrastructure.putSecret(stack.secrets, stack.segmentSecretId, "{\"writeKey\":\"" + rotated + "\"}");
        Delta b = s.delta(BOB, true, 1);
        s.enqueue(b);
        s.commit(b);

        // when
        SQSBatchResponse response = s.poll();

        // then the refused key was re-read once and the batch went through
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).extracting(SegmentStandIn.RecordedRequest::status).containsExactly(200, 401, 200);
        assertThat(segment.requests().get(2).header("Authorization"))
                .isEqualTo(io.cohortsync.testkit.ApiGatewayEvents.basic(rotated, ""));
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE, BOB);
    }

    @Test
    void handleRequest_keepsRecordsForRetry_whenSegmentRefusesKeyStillInSecret(AwsStack stack) {
        // given Segment rotated the key but the secret still holds the old one
        SenderHarness s = sender(stack);
        Delta a = s.delta(ALICE, true, 1);
        s.enqueue(a);
        s.commit(a);
        String rotated = "wk-rotated-4d02aa";
        segment.rotateWriteKey(rotated);
        AwsRequestCounter.reset();

        // when
        SQSBatchResponse refused = s.poll();

        // then nothing is dropped: the record comes back, after one re-read of the secret
        assertThat(failedIds(refused)).hasSize(1);
        assertThat(segment.requests()).extracting(SegmentStandIn.RecordedRequest::status).containsExactly(401, 401);
        assertThat(AwsRequestCounter.snapshot()).containsEntry("SecretsManager.GetSecretValue", 2L);

        // and once the secret holds the new key, the redelivery goes through
        Infrastructure.putSecret(stack.secrets, stack.segmentSecretId, "{\"writeKey\":\"" + rotated + "\"}");
        SQSBatchResponse after = s.poll();
        assertThat(failedIds(after)).isEmpty();
        assertThat(segment.acceptedIdentifies()).hasSize(1);
    }

    // ---- what Segment can never take, and poison

    @Test
    void handleRequest_deadLettersOnlyRefusedMessages_whenSegmentRefusesThemAlone(AwsStack stack) {
        // given eight users, one of whom Segment refuses (400), and a cohort whose name makes any message > 32 KB
        SenderHarness s = sender(stack);
        String mallory = "mallory@example.com";
        List<Delta> deltas = new ArrayList<>(IntStream.range(0, 7).mapToObj(i -> s.delta("user" + i + "@example.com", true, 1)).toList());
        deltas.add(s.delta(mallory, true, 1));
        CohortRef huge = new CohortRef(COHORT.projectId(), "999");
        Delta oversize = deltaAt(huge, "x".repeat(40_000), BOB, true, 1, s.observedAt);
        s.enqueue(deltas);
        s.enqueue(oversize);
        s.commit(deltas);
        s.commit(oversize);
        segment.rejectBatchesContaining(m -> mallory.equals(m.path("userId").asText()));

        // when
        SQSBatchResponse response = s.poll();

        // then the seven others went through, nothing comes back, and both refused deltas wait in the DLQ with a reason
        assertThat(SqsEvents.toJson(response)).isEqualTo("{\"batchItemFailures\":[]}");
        assertThat(segment.finalTraits()).hasSize(7).doesNotContainKey(mallory);
        assertThat(segment.requests()).noneMatch(r -> r.bodyText().contains("xxxxxxxxxx"));
        List<Message> dead = SqsEvents.receive(stack.sqs, stack.dlqUrl, 10);
        assertThat(dead).hasSize(2);
        Map<String, String> reasonByUser = new java.util.HashMap<>();
        dead.forEach(m -> DeltaCodec.decode(m.body()).forEach(d -> reasonByUser.put(d.distinctId(),
                m.messageAttributes().get(SqsDeadLetterQueue.REASON).stringValue())));
        assertThat(reasonByUser).containsOnlyKeys(mallory, BOB);
        assertThat(reasonByUser.get(mallory)).contains("400");
        assertThat(reasonByUser.get(BOB)).contains("32000-byte limit");
        assertThat(s.lastSummary().path("rejected").asInt()).isEqualTo(2);
    }

    @Test
    void handleRequest_deadLettersUnusableDelta_whenDistinctIdEmpty(AwsStack stack) {
        // given a replayed message whose second change has an empty distinct id (no table read can take it)
        SenderHarness s = sender(stack);
        Delta good = s.delta(ALICE, true, 1);
        Delta empty = s.delta("", true, 1);
        s.enqueue(good, empty);
        s.commit(good);

        // when
        SQSBatchResponse response = s.poll();

        // then the good change goes through and the bad one waits in the DLQ with its reason
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE);
        assertThat(SqsEvents.receive(stack.sqs, stack.dlqUrl, 10)).singleElement().satisfies(m -> {
            assertThat(DeltaCodec.decode(m.body())).containsExactly(empty);
            assertThat(m.messageAttributes().get(SqsDeadLetterQueue.REASON).stringValue()).contains("empty distinct id");
        });
    }

    @Test
    void handleRequest_deadLettersPoisonVerbatim_whenAmongGoodMessages(AwsStack stack) {
        // given two good messages and one that is not a delta message
        SenderHarness s = sender(stack);
        Delta a = s.delta(ALICE, true, 1);
        Delta b = s.delta(BOB, true, 1);
        s.enqueueSeparately(a, b);
        s.commit(a, b);
        String poison = "{\"not\":\"a delta\"}";
        stack.sqs.sendMessage(r -> r.queueUrl(stack.queueUrl).messageBody(poison));
        List<Message> messages = s.receive();
        String poisonId = messages.stream().filter(m -> m.body().equals(poison)).findFirst().orElseThrow().messageId();

        // when
        SQSBatchResponse response = s.invoke(messages);

        // then the good ones are sent, the poison is acknowledged and waits in the DLQ, verbatim, with its reason
        assertThat(SqsEvents.toJson(response)).isEqualTo("{\"batchItemFailures\":[]}");
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE, BOB);
        assertThat(SqsEvents.receive(stack.sqs, stack.dlqUrl, 10)).singleElement().satisfies(m -> {
            assertThat(m.body()).isEqualTo(poison);
            assertThat(m.messageAttributes().get(SqsDeadLetterQueue.REASON).stringValue())
                    .startsWith("undecodable delta message");
            assertThat(m.messageAttributes().get(SqsDeadLetterQueue.SOURCE_MESSAGE_ID).stringValue()).isEqualTo(poisonId);
        });
        assertThat(s.lastSummary().path("poison").asInt()).isEqualTo(1);
    }

    @Test
    void handleRequest_failsOnlyPoison_whenDeadLetterQueueUnavailable(AwsStack stack) {
        // given the same batch, and a DLQ that cannot be written
        SenderHarness s = sender(stack, Map.of("DLQ_URL", stack.dlqUrl + "-missing"));
        Delta a = s.delta(ALICE, true, 1);
        Delta b = s.delta(BOB, true, 1);
        s.enqueueSeparately(a, b);
        s.commit(a, b);
        stack.sqs.sendMessage(r -> r.queueUrl(stack.queueUrl).messageBody("garbage"));
        List<Message> messages = s.receive();
        String poisonId = messages.stream().filter(m -> m.body().equals("garbage")).findFirst().orElseThrow().messageId();

        // when
        SQSBatchResponse response = s.invoke(messages);

        // then exactly the poison record comes back (SQS will redrive it after maxReceiveCount)
        assertThat(SqsEvents.toJson(response)).isEqualTo("{\"batchItemFailures\":[{\"itemIdentifier\":\"" + poisonId + "\"}]}");
        assertThat(segment.finalTraits()).containsOnlyKeys(ALICE, BOB);
    }

    @Test
    void handleRequest_failsEveryDeltaRecord_whenDynamoDbUnavailable(AwsStack stack) {
        // given a table that cannot be read, two delta messages and a poison one
        SenderHarness s = sender(stack, Map.of("TABLE_NAME", stack.tableName + "-missing"));
        s.enqueueSeparately(s.delta(ALICE, true, 1), s.delta(BOB, true, 1));
        stack.sqs.sendMessage(r -> r.queueUrl(stack.queueUrl).messageBody("garbage"));
        List<Message> messages = s.receive();
        List<String> deltaIds = messages.stream().filter(m -> !m.body().equals("garbage")).map(Message::messageId).toList();

        // when
        SQSBatchResponse response = s.invoke(messages);

        // then
        assertThat(failedIds(response)).containsExactlyInAnyOrderElementsOf(deltaIds);
        assertThat(segment.requests()).isEmpty();
        assertThat(SqsEvents.receive(stack.sqs, stack.dlqUrl, 10)).hasSize(1);
    }

    // ---- deltas ahead of the table

    @Test
    void handleRequest_requeuesWithDelayThenSends_whenDeltaAheadOfTable(AwsStack stack) {
        // given a delta queued but not committed yet (the webhook is between its two steps)
        SenderHarness s = sender(stack, Map.of("AHEAD_RETRY_DELAY_SECONDS", "2"));
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);

        // when
        SQSBatchResponse first = s.poll();

        // then it is acknowledged and back on the queue, invisible for the delay
        assertThat(failedIds(first)).isEmpty();
        assertThat(segment.requests()).isEmpty();
        assertThat(s.lastSummary().path("requeued").asInt()).isEqualTo(1);
        assertThat(s.receive()).isEmpty();

        // and when the commit lands and the delay passes, it is sent once
        s.commit(enter);
        List<Message> later = SqsEvents.awaitMessages(stack.sqs, stack.queueUrl, 1, Duration.ofSeconds(15));
        assertThat(later).singleElement().satisfies(m -> assertThat(DeltaCodec.decode(m.body())).containsExactly(enter));
        SQSBatchResponse second = s.invoke(later);
        assertThat(failedIds(second)).isEmpty();
        assertThat(segment.acceptedIdentifies()).singleElement()
                .satisfies(m -> assertThat(m.path("userId").asText()).isEqualTo(ALICE));
    }

    @Test
    void handleRequest_dropsAsNeverCommitted_whenDeltaAheadAndOld(AwsStack stack) {
        // given a delta observed 16 minutes ago whose change never reached the table
        SenderHarness s = sender(stack, Map.of("AHEAD_RETRY_DELAY_SECONDS", "0"));
        s.enqueue(deltaAt(COHORT, SenderHarness.COHORT_NAME, ALICE, true, 1, Instant.now().minusSeconds(16 * 60)));

        // when
        SQSBatchResponse response = s.poll();

        // then it is dropped: not sent, not re-queued, not dead-lettered
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).isEmpty();
        assertThat(s.receive()).isEmpty();
        assertThat(SqsEvents.receive(stack.sqs, stack.dlqUrl, 10)).isEmpty();
        assertThat(s.lastSummary().path("neverCommitted").asInt()).isEqualTo(1);
        assertThat(JsonFields.count(s.lastSummary(), "requeued")).isZero();
    }

    // ---- volume: Segment's limits

    @Test
    void handleRequest_splitsIntoRequestsWithinLimits_whenMoreThan2500Deltas(AwsStack stack) {
        // given 2,600 committed changes in one queue message
        SenderHarness s = sender(stack);
        List<Delta> deltas = IntStream.range(0, 2600).mapToObj(i -> s.delta("u" + i + "@example.com", true, 1)).toList();
        s.commit(deltas);
        s.enqueue(deltas);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).hasSizeGreaterThan(1).allSatisfy(r -> {
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.messages()).hasSizeLessThanOrEqualTo(2500);
            assertThat(r.body().length).isLessThanOrEqualTo(500_000);
        });
        assertThat(segment.acceptedIdentifies()).hasSize(2600);
    }

    @Test
    void handleRequest_splitsByBytes_whenDeltasExceed500KB(AwsStack stack) {
        // given 500 changes whose messages are ~1.3 KB each (a long cohort name): 650 KB in all
        SenderHarness s = sender(stack);
        String longName = "Customers who ".repeat(70);
        List<Delta> deltas = IntStream.range(0, 500).mapToObj(i -> deltaAt(COHORT, longName, "u" + i + "@example.com", true, 1,
                s.observedAt)).toList();
        s.commit(deltas);
        s.enqueue(deltas);

        // when
        SQSBatchResponse response = s.poll();

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).hasSize(2).allSatisfy(r -> assertThat(r.body().length).isLessThanOrEqualTo(500_000));
        assertThat(segment.acceptedIdentifies()).hasSize(500);
    }

    @Test
    void handleRequest_sendsFixtureChanges_whenGivenSamLocalEvent(AwsStack stack) {
        // given the events/ fixture `sam local invoke -e` uses, and the changes it announces committed
        SenderHarness s = sender(stack);
        var event = SqsEvents.parse(io.cohortsync.testkit.ApiGatewayEvents.Fixtures.read("sender-deltas.json"));
        List<Delta> announced = DeltaCodec.decode(event.getRecords().getFirst().getBody());
        s.commit(announced.get(0));
        s.commit(deltaAt(COHORT, SenderHarness.COHORT_NAME, "u-1002", true, 1, Instant.now()));
        s.commit(announced.get(1));

        // when
        SQSBatchResponse response = s.handler.handleRequest(event,
                io.cohortsync.testkit.LambdaContexts.withRemaining("cohort-sync-sender", Duration.ofSeconds(60)));

        // then
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.finalTraits()).containsOnlyKeys("u-1001", "u-1002");
        assertThat(segment.finalTraits().get("u-1002").get(TRAIT).booleanValue()).isFalse();
        assertThat(segment.acceptedIdentifies()).allSatisfy(m ->
                assertThat(m.path("timestamp").asText()).isEqualTo("2026-11-28T11:00:00.123Z"));
        assertThat(s.logText()).doesNotContain("u-1001").doesNotContain("u-1002");
    }

    // ---- renames: no profile keeps an old name's trait true (README "The rename rule")

    private static final String OLD_NAME = "Old users";
    private static final String OLD_TRAIT = IdentifyMessage.DEFAULT_TRAIT_PREFIX + OLD_NAME;

    /**
     * ALICE entered under {@link #OLD_NAME} (v1, name version 1); the cohort was renamed to the harness's
     * name (name version 2); the reconciler re-announced her (v2: {old: false, new: true}) and then she
     * exited (v3, announced under the new name only). The v2 re-announcement is queued: the table's v3
     * makes it stale. Returns that stale delta.
     */
    private static Delta staleReannouncement(SenderHarness s, CohortState cohort) {
        s.storeCohort(COHORT, cohort);
        Membership entered = new Membership(true, 1, null, 1, 0);
        Membership renamed = new Membership(true, 2, null, 2, 0);
        Membership exited = new Membership(false, 3, null, 2, 0);
        s.commit(COHORT, new Change(ALICE, Membership.ABSENT, entered));
        s.commit(COHORT, new Change(ALICE, entered, renamed, OLD_NAME));
        s.commit(COHORT, new Change(ALICE, renamed, exited));
        Delta reannouncement = new Delta(COHORT, SenderHarness.COHORT_NAME, ALICE, true, 2, s.observedAt, null,
                OLD_NAME, null);
        s.enqueue(reannouncement);
        return reannouncement;
    }

    @Test
    void handleRequest_sendsOnlyTheOldNamesFalse_underItsOwnMessageId_whenARenamedDeltaIsStale(AwsStack stack) {
        // given a stale delta that names a previous name, the cohort still under its new name
        SenderHarness s = sender(stack);
        Delta stale = staleReannouncement(s, CohortState.first(OLD_NAME).renamed(SenderHarness.COHORT_NAME));

        // when
        SQSBatchResponse response = s.poll();

        // then the delta's own identify is dropped, and one identify clears the old name and nothing else
        assertThat(failedIds(response)).isEmpty();
        String clearingId = MessageIds.clearing(stale, IdentifyMessage.DEFAULT_TRAIT_PREFIX, null);
        assertThat(clearingId).isNotEqualTo(MessageIds.of(stale, IdentifyMessage.DEFAULT_TRAIT_PREFIX, null));
        assertThat(segment.acceptedIdentifies()).singleElement().satisfies(m -> {
            assertThat(m.path("userId").asText()).isEqualTo(ALICE);
            assertThat(m.path("traits").toString()).isEqualTo("{\"" + OLD_TRAIT + "\":false}");
            assertThat(m.path("messageId").asText()).isEqualTo(clearingId);
        });
        assertThat(s.lastSummary().path("stale").asInt()).isEqualTo(1);
        assertThat(JsonFields.count(s.lastSummary(), "sent")).isZero();
        assertThat(s.lastSummary().path("clearedOldNames").asInt()).isEqualTo(1);
        assertThat(s.metricLines().getLast().path("OldNamesCleared").asDouble()).isEqualTo(1.0);
    }

    @Test
    void handleRequest_stillClearsTheOldName_whenTheCohortCarriesItAgain_butTheUserLeft(AwsStack stack) {
        // given the same stale delta (Alice left under the second name), and the cohort renamed back to the
        // old name since: nobody re-announces a non-member, so the v1 true for the old name is still on her
        SenderHarness s = sender(stack);
        Delta stale = staleReannouncement(s,
                CohortState.first(OLD_NAME).renamed(SenderHarness.COHORT_NAME).renamed(OLD_NAME));

        // when
        SQSBatchResponse response = s.poll();

        // then the old (now current) name's false is sent: she is not a member
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.acceptedIdentifies()).singleElement().satisfies(m -> {
            assertThat(m.path("traits").toString()).isEqualTo("{\"" + OLD_TRAIT + "\":false}");
            assertThat(m.path("messageId").asText())
                    .isEqualTo(MessageIds.clearing(stale, IdentifyMessage.DEFAULT_TRAIT_PREFIX, null));
        });
        assertThat(s.lastSummary().path("clearedOldNames").asInt()).isEqualTo(1);
    }

    @Test
    void handleRequest_sendsNoClearing_whenTheCohortCarriesThePreviousNameAgain_andTheUserIsAMember(AwsStack stack) {
        // given Alice entered under the old name (v1), was re-announced under the second (v2, queued), and,
        // the cohort renamed back, re-announced under the old name again (v3: old true, second false)
        SenderHarness s = sender(stack);
        s.storeCohort(COHORT, CohortState.first(OLD_NAME).renamed(SenderHarness.COHORT_NAME).renamed(OLD_NAME));
        Membership entered = new Membership(true, 1, null, 1, 0);
        Membership renamed = new Membership(true, 2, null, 2, 0);
        Membership renamedBack = new Membership(true, 3, null, 3, 0);
        s.commit(COHORT, new Change(ALICE, Membership.ABSENT, entered));
        s.commit(COHORT, new Change(ALICE, entered, renamed, OLD_NAME));
        s.commit(COHORT, new Change(ALICE, renamed, renamedBack, SenderHarness.COHORT_NAME));
        s.enqueue(new Delta(COHORT, SenderHarness.COHORT_NAME, ALICE, true, 2, s.observedAt, null, OLD_NAME, null));

        // when
        SQSBatchResponse response = s.poll();

        // then nothing is sent: a false for the old name would clear the trait of a current member
        assertThat(failedIds(response)).isEmpty();
        assertThat(segment.requests()).isEmpty();
        assertThat(s.lastSummary().path("stale").asInt()).isEqualTo(1);
        assertThat(s.lastSummary().has("clearedOldNames")).isFalse();
    }

    @Test
    void handleRequest_bringsARenamedDeltaBack_whenItIsOvertakenBeforeItsRetry_soItsOldNameIsCleared(AwsStack stack) {
        // given Alice's re-announcement under the new name (v2: new true, old false) is current when first
        // sent, Segment fails that request, and her exit (v3) commits before the retry
        SenderHarness s = sender(stack);
        s.storeCohort(COHORT, CohortState.first(OLD_NAME).renamed(SenderHarness.COHORT_NAME));
        Membership entered = new Membership(true, 1, null, 1, 0);
        Membership renamed = new Membership(true, 2, null, 2, 0);
        s.commit(COHORT, new Change(ALICE, Membership.ABSENT, entered));
        s.commit(COHORT, new Change(ALICE, entered, renamed, OLD_NAME));
        Delta reannouncement = new Delta(COHORT, SenderHarness.COHORT_NAME, ALICE, true, 2, s.observedAt, null,
                OLD_NAME, null);
        s.enqueue(reannouncement);
        segment.failNext(1, 500);
        segment.onNextRequest(() -> s.commit(COHORT, new Change(ALICE, renamed, new Membership(false, 3, null, 2, 0))));
        List<Message> messages = s.receive();

        // when the batch is handled (the retry is withdrawn), and SQS brings the record back
        SQSBatchResponse first = s.invoke(messages);
        SQSBatchResponse second = s.invoke(messages);

        // then the first run kept the record, and the redelivery sent the old name's false on its own
        assertThat(failedIds(first)).containsExactly(messages.get(0).messageId());
        assertThat(failedIds(second)).isEmpty();
        assertThat(segment.acceptedIdentifies()).singleElement().satisfies(m -> {
            assertThat(m.path("traits").toString()).isEqualTo("{\"" + OLD_TRAIT + "\":false}");
            assertThat(m.path("messageId").asText())
                    .isEqualTo(MessageIds.clearing(reannouncement, IdentifyMessage.DEFAULT_TRAIT_PREFIX, null));
        });
    }

    @Test
    void handleRequest_resendsTheSameClearingId_whenTheStaleDeltaIsRedelivered(AwsStack stack) {
        // given the stale renamed delta, delivered twice by SQS
        SenderHarness s = sender(stack);
        Delta stale = staleReannouncement(s, CohortState.first(OLD_NAME).renamed(SenderHarness.COHORT_NAME));
        List<Message> messages = s.receive();

        // when
        SQSBatchResponse first = s.invoke(messages);
        SQSBatchResponse second = s.invoke(messages);

        // then both deliveries sent the same clearing id, and Segment kept one copy
        assertThat(failedIds(first)).isEmpty();
        assertThat(failedIds(second)).isEmpty();
        String clearingId = MessageIds.clearing(stale, IdentifyMessage.DEFAULT_TRAIT_PREFIX, null);
        assertThat(segment.requests()).hasSize(2).allSatisfy(r -> assertThat(r.messages()).singleElement()
                .satisfies(m -> assertThat(m.path("messageId").asText()).isEqualTo(clearingId)));
        assertThat(segment.acceptedIdentifies()).hasSize(1);
        assertThat(segment.duplicates()).isEqualTo(1);
        assertThat(segment.finalTraits().get(ALICE)).containsOnlyKeys(OLD_TRAIT);
    }

    // ---- observability

    @Test
    void handleRequest_writesOneSummaryAndOneEmfLine_whenBatchHandled(AwsStack stack) {
        // given
        SenderHarness s = sender(stack);
        Delta enter = s.delta(ALICE, true, 1);
        s.enqueue(enter);
        s.commit(enter);

        // when
        s.poll();

        // then
        assertThat(s.summaries()).singleElement().satisfies(l -> {
            assertThat(l.path("level").asText()).isEqualTo("INFO");
            assertThat(l.path("function").asText()).isEqualTo("sender");
            assertThat(l.path("records").asInt()).isEqualTo(1);
            assertThat(l.path("deltas").asInt()).isEqualTo(1);
            assertThat(l.path("sent").asInt()).isEqualTo(1);
            assertThat(l.path("segmentRequestsByStatus").path("200").asInt()).isEqualTo(1);
            assertThat(JsonFields.count(l, "failures")).isZero();
            assertThat(l.path("cohortIds").get(0).asText()).isEqualTo(COHORT.cohortId());
            assertThat(l.has("durationMs")).isTrue();
        });
        assertThat(s.metricLines()).singleElement().satisfies(l -> {
            JsonNode directive = l.path("_aws").path("CloudWatchMetrics").get(0);
            assertThat(directive.path("Namespace").asText()).isEqualTo(io.cohortsync.observability.Metrics.NAMESPACE);
            assertThat(directive.path("Dimensions").toString()).isEqualTo("[[\"Function\"]]");
            assertThat(l.path("Function").asText()).isEqualTo("sender");
            assertThat(l.path("IdentifiesSent").asDouble()).isEqualTo(1.0);
            assertThat(l.path("Segment2xx").asDouble()).isEqualTo(1.0);
            assertThat(JsonFields.number(l, "BatchItemFailures")).isZero();
            assertThat(JsonFields.number(l, "EndToEndLag")).isGreaterThanOrEqualTo(0.0);
            assertThat(l.has("DroppedStale") && l.has("DroppedNeverCommitted") && l.has("Requeued")
                    && l.has("Rejected") && l.has("SegmentRequests") && l.has("Segment4xx") && l.has("Segment5xx")
                    && l.has("Segment429") && l.has("SegmentRetries")).isTrue();
        });
    }
}
