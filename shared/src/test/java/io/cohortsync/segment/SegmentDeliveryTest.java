package io.cohortsync.segment;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.DependencyUnavailableException;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

/** The delivery policy against a scripted transport, a hand-driven clock and a recording sleeper: no network, no waiting. */
class SegmentDeliveryTest {
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final Instant START = Instant.parse("2026-11-28T11:00:00Z");
    private static final Duration TIMEOUT = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock(START);
    private final List<Duration> sleeps = new ArrayList<>();
    private final Keys keys = new Keys("wk-1");

    @Test
    void deliver_acceptsEveryMessage_whenSegmentAnswers200() {
        // given
        Script segment = new Script(ok());
        List<EncodedMessage> messages = messages(3);

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages, START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(report.outcomes()).hasSize(3).allSatisfy((id, o) -> assertThat(o).isInstanceOf(MessageOutcome.Accepted.class));
        assertThat(report.requests()).isEqualTo(1);
        assertThat(report.requestsByLabel()).containsExactly(Map.entry("200", 1));
        assertThat(segment.calls.getFirst().writeKey()).isEqualTo("wk-1");
    }

    @Test
    void deliver_waitsRetryAfter_when429CarriesIt() {
        // given
        Script segment = new Script(status(429, Duration.ofSeconds(2)), ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(2), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(sleeps).containsExactly(Duration.ofSeconds(2));
        assertThat(report.retries()).isEqualTo(1);
        assertThat(report.outcomes().values()).hasSize(2).allMatch(o -> o instanceof MessageOutcome.Accepted);
    }

    @Test
    void deliver_backsOffExponentiallyWithFullJitter_when5xxAndTimeouts() {
        // given three failures of different kinds, then success; the random source picks the ceiling
        Script segment = new Script(status(503), timeout(), unreachable(), ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(1), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then the ceilings double from the base
        assertThat(sleeps).containsExactly(Duration.ofMillis(200), Duration.ofMillis(400), Duration.ofMillis(800));
        assertThat(report.requestsByLabel()).containsEntry("503", 1).containsEntry("timeout", 1)
                .containsEntry("connection", 1).containsEntry("200", 1);
        assertThat(report.retries()).isEqualTo(3);
    }

    @Test
    void deliver_drawsWaitsBelowCeiling_whenRandomSourceIsLow() {
        // given a random source that returns 0
        Script segment = new Script(status(500), status(500), ok());

        // when
        delivery(segment, zeroRandom()).deliver(messages(1), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(sleeps).containsExactly(Duration.ZERO, Duration.ZERO);
    }

    @Test
    void deliver_leavesEverythingUnsent_whenSegmentFailsEveryAttempt() {
        // given two batches' worth of messages (2,501 small ones) and Segment down
        Script segment = new Script(i -> status(503));

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(smallMessages(2501), START.plusSeconds(50), SegmentDelivery.StillCurrent.ALL);

        // then the first batch was tried MAX_ATTEMPTS times, the second not at all
        assertThat(segment.calls).hasSize(SegmentDelivery.MAX_ATTEMPTS);
        assertThat(report.outcomes()).hasSize(2501).allSatisfy((id, o) -> assertThat(o)
                .isInstanceOfSatisfying(MessageOutcome.Unsent.class, u -> assertThat(u.reason()).contains("503")));
    }

    @Test
    void deliver_doesNotWait_whenRetryAfterEndsPastDeadline() {
        // given a deadline 10 s away and Segment asking for 120 s
        Script segment = new Script(status(429, Duration.ofSeconds(120)), ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(2), START.plusSeconds(10), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(sleeps).isEmpty();
        assertThat(segment.calls).hasSize(1);
        assertThat(report.outcomes().values()).hasSize(2).allSatisfy(o -> assertThat(o)
                .isInstanceOfSatisfying(MessageOutcome.Unsent.class, u -> assertThat(u.reason()).contains("deadline")));
    }

    @Test
    void deliver_capsRequestTimeoutAtDeadline_whenLessTimeThanTimeoutRemains() {
        // given 3 s left and a 10 s request timeout
        Script segment = new Script(ok());

        // when
        delivery(segment, maxRandom()).deliver(messages(1), START.plusSeconds(3), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(segment.calls.getFirst().timeout()).isEqualTo(Duration.ofSeconds(3));
    }

    @Test
    void deliver_sendsNothing_whenDeadlineAlreadyPassed() {
        // given
        Script segment = new Script(ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(2), START.minusSeconds(1), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(segment.calls).isEmpty();
        assertThat(report.outcomes().values()).hasSize(2).allMatch(o -> o instanceof MessageOutcome.Unsent);
    }

    @Test
    void deliver_isolatesBadMessageByHalving_whenSegmentAnswers400() {
        // given Segment refuses any batch holding m5
        List<EncodedMessage> messages = messages(8);
        Script segment = new Script(call -> call.messageIds().contains("m5") ? status(400) : ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages, START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then m5 alone is rejected, the seven others accepted, with 1 + 2·log2(8) requests
        assertThat(report.outcomes().get("m5")).isInstanceOfSatisfying(MessageOutcome.Rejected.class,
                r -> assertThat(r.reason()).contains("400"));
        assertThat(report.outcomes().values()).filteredOn(o -> o instanceof MessageOutcome.Accepted).hasSize(7);
        assertThat(segment.calls).hasSize(7);
        assertThat(report.splits()).isEqualTo(6);
        assertThat(sleeps).isEmpty();
    }

    @Test
    void deliver_rejectsWithoutSending_whenMessageOver32KB() {
        // given
        EncodedMessage big = SegmentBatcherTest.message("big", 40_000);
        Script segment = new Script(ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(List.of(big, messages(1).getFirst()), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(report.outcomes().get("big")).isInstanceOf(MessageOutcome.Rejected.class);
        assertThat(segment.calls).singleElement().satisfies(c -> assertThat(c.messageIds()).containsExactly("m0"));
    }

    @Test
    void deliver_rereadsWriteKeyOnceAndSucceeds_whenKeyWasRotated() {
        // given Segment now only takes wk-2, which the secret holds after a re-read
        keys.next = "wk-2";
        Script segment = new Script(call -> call.writeKey().equals("wk-2") ? ok() : status(401));

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(2), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(keys.refreshes).isEqualTo(1);
        assertThat(segment.calls).extracting(Call::writeKey).containsExactly("wk-1", "wk-2");
        assertThat(report.outcomes().values()).hasSize(2).allMatch(o -> o instanceof MessageOutcome.Accepted);
        assertThat(sleeps).isEmpty();
    }

    @Test
    void deliver_leavesUnsent_whenKeyStillRefusedAfterReread() {
        // given
        Script segment = new Script(call -> status(401));

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(smallMessages(2501), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then one re-read, two attempts, nothing dropped
        assertThat(keys.refreshes).isEqualTo(1);
        assertThat(segment.calls).hasSize(2);
        assertThat(report.outcomes()).hasSize(2501).allSatisfy((id, o) -> assertThat(o)
                .isInstanceOfSatisfying(MessageOutcome.Unsent.class, u -> assertThat(u.reason()).contains("401")));
    }

    @Test
    void deliver_leavesUnsent_whenWriteKeyCannotBeRead() {
        // given
        keys.broken = true;
        Script segment = new Script(ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(2), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(segment.calls).isEmpty();
        assertThat(report.outcomes().values()).hasSize(2).allMatch(o -> o instanceof MessageOutcome.Unsent);
    }

    @Test
    void deliver_withdrawsMessages_whenNoLongerCurrentBeforeRetry() {
        // given a 503, after which m1 stopped being current
        Script segment = new Script(status(503), ok());
        List<Set<String>> asked = new ArrayList<>();
        SegmentDelivery.StillCurrent stillCurrent = ids -> {
            asked.add(ids);
            return ids.stream().filter(id -> !id.equals("m1")).collect(Collectors.toSet());
        };

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(3), START.plusSeconds(30), stillCurrent);

        // then
        assertThat(asked).containsExactly(Set.of("m0", "m1", "m2"));
        assertThat(report.outcomes().get("m1")).isInstanceOf(MessageOutcome.Withdrawn.class);
        assertThat(segment.calls.get(1).messageIds()).containsExactly("m0", "m2");
        assertThat(report.outcomes().get("m2")).isInstanceOf(MessageOutcome.Accepted.class);
    }

    @Test
    void deliver_sendsDuplicateMessageIdOnce_whenGivenTwice() {
        // given
        EncodedMessage m = messages(1).getFirst();
        Script segment = new Script(ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(List.of(m, m), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(segment.calls.getFirst().messageIds()).containsExactly("m0");
        assertThat(report.outcomes()).hasSize(1);
    }

    @Test
    void deliver_leavesUnsentWithoutRetry_whenStatusIsUnexpected() {
        // given a wrong endpoint
        Script segment = new Script(status(404), ok());

        // when
        DeliveryReport report = delivery(segment, maxRandom()).deliver(messages(1), START.plusSeconds(30), SegmentDelivery.StillCurrent.ALL);

        // then
        assertThat(segment.calls).hasSize(1);
        assertThat(report.outcomes().get("m0")).isInstanceOfSatisfying(MessageOutcome.Unsent.class,
                u -> assertThat(u.reason()).contains("404"));
    }

    // ---- fixtures

    private SegmentDelivery delivery(Script segment, RandomGenerator random) {
        return new SegmentDelivery(segment, keys, TIMEOUT, clock, d -> {
            sleeps.add(d);
            clock.advance(d);
        }, () -> random);
    }

    private static List<EncodedMessage> messages(int n) {
        return IntStream.range(0, n).mapToObj(i -> SegmentBatcherTest.message("m" + i, 120)).toList();
    }

    private static List<EncodedMessage> smallMessages(int n) {
        return IntStream.range(0, n).mapToObj(i -> SegmentBatcherTest.message("s" + i, 60)).toList();
    }

    private static SegmentResponse ok() {
        return status(200);
    }

    private static SegmentResponse status(int status) {
        return new SegmentResponse.Answered(status, Optional.empty());
    }

    private static SegmentResponse status(int status, Duration retryAfter) {
        return new SegmentResponse.Answered(status, Optional.of(retryAfter));
    }

    private static SegmentResponse timeout() {
        return new SegmentResponse.TimedOut();
    }

    private static SegmentResponse unreachable() {
        return new SegmentResponse.Unreachable("ConnectException");
    }

    /** A random source that always returns the upper bound (inclusive ceiling). */
    private static RandomGenerator maxRandom() {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                return Long.MAX_VALUE;
            }

            @Override
            public long nextLong(long bound) {
                return bound - 1;
            }
        };
    }

    private static RandomGenerator zeroRandom() {
        return new RandomGenerator() {
            @Override
            public long nextLong() {
                return 0;
            }

            @Override
            public long nextLong(long bound) {
                return 0;
            }
        };
    }

    record Call(List<String> messageIds, String writeKey, Duration timeout) {
    }

    /** Answers from a list in order, or from a function of the call. */
    private static final class Script implements SegmentTransport {
        final List<Call> calls = new ArrayList<>();
        private final Deque<SegmentResponse> answers = new ArrayDeque<>();
        private final Function<Call, SegmentResponse> rule;

        Script(SegmentResponse... answers) {
            this.answers.addAll(List.of(answers));
            this.rule = null;
        }

        Script(Function<Call, SegmentResponse> rule) {
            this.rule = rule;
        }

        @Override
        public SegmentResponse postBatch(byte[] body, String writeKey, Duration timeout) {
            List<String> ids = new ArrayList<>();
            try {
                for (JsonNode m : MAPPER.readTree(body).path("batch")) {
                    ids.add(m.path("messageId").asText());
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Call call = new Call(ids, writeKey, timeout);
            calls.add(call);
            return rule != null ? rule.apply(call) : answers.removeFirst();
        }
    }

    private static final class Keys implements WriteKeySource {
        String current;
        String next;
        boolean broken;
        int refreshes;

        Keys(String current) {
            this.current = current;
        }

        @Override
        public String current() {
            if (broken) {
                throw new DependencyUnavailableException("SecretsManager", "GetSecretValue failed", null);
            }
            return current;
        }

        @Override
        public void refresh() {
            refreshes++;
            if (next != null) {
                current = next;
            }
        }
    }

    static final class ManualClock extends Clock {
        private Instant now;

        ManualClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}
