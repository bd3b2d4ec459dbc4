package io.cohortsync.cli;

import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.services.sqs.SqsClient;
import software.amazon.awssdk.services.sqs.model.BatchResultErrorEntry;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchRequest;
import software.amazon.awssdk.services.sqs.model.ChangeMessageVisibilityBatchResponse;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.DeleteMessageBatchResponse;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesRequest;
import software.amazon.awssdk.services.sqs.model.GetQueueAttributesResponse;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageRequest;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchResponse;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;

import static io.cohortsync.cli.Seed.CHURN;
import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.SEGMENT_REJECTED;
import static io.cohortsync.cli.Seed.body;
import static io.cohortsync.cli.Seed.delta;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@code replay} against moto: everything moves exactly once, a dry run moves nothing, failures lose nothing. */
@ExtendWith(MotoExtension.class)
class ReplayIT {

    /** 12 delta messages (more than one receive's worth) and one that is not a delta message. */
    private static List<String> seed(AwsStack stack) {
        List<String> bodies = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            String body = i % 3 == 0
                    ? body(delta(CHURN, "churner" + i + "@example.com", true, 2), delta(CHURN, "other" + i + "@example.com", false, 3))
                    : body(delta(POWER, "user" + i + "@example.com", true, 1));
            bodies.add(body);
            if (i % 2 == 0) {
                Seed.deadLetter(stack, SEGMENT_REJECTED, body);
            } else {
                Seed.redriven(stack, body);
            }
        }
        Seed.deadLetter(stack, "undecodable delta message: message body is not JSON", "garbage from zed@example.com");
        return bodies;
    }

    private static List<String> bodies(List<Message> messages) {
        return messages.stream().map(Message::body).toList();
    }

    @Test
    void replay_movesEveryDeltaMessageExactlyOnce_andLeavesTheUndecodable(AwsStack stack) {
        // given
        List<String> seeded = seed(stack);

        // when
        CliRun r = CliRun.run("replay", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then every delta message is on the delta queue once, and only the undecodable one stayed
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains(
                "moved 12 messages (16 deltas, 2 cohorts)",
                """
                  reason: %s
                    6 messages, 8 deltas
                """.formatted(SEGMENT_REJECTED),
                """
                  reason: redriven by SQS after maxReceiveCount
                    6 messages, 8 deltas
                    cohorts (project/cohort: deltas): 2195193/1457721: 4, 2195193/99: 4
                """,
                """
                left in the dead-letter queue:
                  not delta messages (the sender would dead-letter them again): 1 message
                    reason: undecodable delta message: message body is not JSON
                """);
        assertThat(r.all()).doesNotContain("@example.com");
        assertThat(bodies(QueueReader.drainMessages(stack.sqs, stack.queueUrl))).containsExactlyInAnyOrderElementsOf(seeded);
        assertThat(bodies(QueueReader.drainMessages(stack.sqs, stack.dlqUrl))).containsExactly("garbage from zed@example.com");
    }

    @Test
    void replay_movesNothing_whenRunAgain(AwsStack stack) {
        // given a replay that moved everything
        Seed.redriven(stack, body(delta(POWER, "alice@example.com", true, 1)));
        assertThat(CliRun.run("replay", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl).code()).isZero();

        // when
        CliRun again = CliRun.run("replay", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then
        assertThat(again.code()).isZero();
        assertThat(again.out()).contains("moved 0 messages (0 deltas, 0 cohorts)");
        assertThat(QueueReader.drainMessages(stack.sqs, stack.queueUrl)).hasSize(1);
    }

    @Test
    void replay_movesNothing_whenDryRun(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = CliRun.run("replay", "--dry-run", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then the report is the same, and nothing moved or vanished
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("dry run: nothing is moved", "would move 12 messages (16 deltas, 2 cohorts)");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(0, 0);
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(13, 0);
    }

    @Test
    void replay_stopsAtMax(AwsStack stack) {
        // given
        seed(stack);

        // when
        CliRun r = CliRun.run("replay", "--max", "5", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("moved 5 messages", "stopped at --max 5");
        assertThat(Seed.depth(stack.sqs, stack.queueUrl)).containsExactly(5, 0);
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(8, 0);
    }

    @Test
    void replay_leavesMessagesThatArrivedAfterItStarted(AwsStack stack) {
        // given messages sent after the (earlier) moment the replay started: e.g. rejected again meanwhile
        Clock startedAnHourAgo = Clock.fixed(Instant.now().minus(Duration.ofHours(1)), ZoneOffset.UTC);
        Seed.redriven(stack, body(delta(POWER, "alice@example.com", true, 1)));

        // when
        CliRun r = CliRun.run(System.getenv(), startedAnHourAgo, DefaultCredentialsProvider.builder().build(),
                "replay", "--queue-url", stack.queueUrl, "--dlq-url", stack.dlqUrl);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("moved 0 messages", "arrived after the replay started (run `rejected` to see why): 1 message");
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(1, 0);
    }

    @Test
    void replay_keepsMessagesInTheDlq_whenSqsRefusesTheirSend(AwsStack stack) {
        // given SQS refuses every send of one message's body
        seed(stack);
        String refused = body(delta(POWER, "user1@example.com", true, 1));
        SqsClient sqs = new FaultySqs(stack.sqs, e -> e.messageBody().equals(refused), -1);
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        // when
        int code = new ReplayCommand(sqs, Clock.systemUTC(), new PrintStream(out, true, StandardCharsets.UTF_8))
                .run(target(stack), false, Integer.MAX_VALUE);

        // then that one stayed in the DLQ (visible again), every other one moved
        String report = out.toString(StandardCharsets.UTF_8);
        assertThat(code).isEqualTo(1);
        assertThat(report).contains("moved 11 messages",
                "NOT moved, still in the dead-letter queue (SQS refused the send; run replay again): 1 message");
        assertThat(report).doesNotContain("@example.com");
        assertThat(bodies(QueueReader.drainMessages(stack.sqs, stack.queueUrl))).hasSize(11).doesNotContain(refused);
        assertThat(bodies(QueueReader.drainMessages(stack.sqs, stack.dlqUrl))).containsExactlyInAnyOrder(refused,
                "garbage from zed@example.com");
    }

    @Test
    void replay_losesNothing_whenSqsFailsPartWay(AwsStack stack) {
        // given the second SendMessageBatch call fails outright (whether SQS took it is unknown)
        List<String> seeded = seed(stack);
        SqsClient sqs = new FaultySqs(stack.sqs, e -> false, 2);
        ByteArrayOutputStream out = new ByteArrayOutputStream();

        // when
        assertThatThrownBy(() -> new ReplayCommand(sqs, Clock.systemUTC(),
                new PrintStream(out, true, StandardCharsets.UTF_8)).run(target(stack), false, Integer.MAX_VALUE))
                .isInstanceOf(SdkClientException.class);

        // then what moved before is reported and gone from the DLQ; the rest is back in the DLQ, visible
        String report = out.toString(StandardCharsets.UTF_8);
        List<String> moved = bodies(QueueReader.drainMessages(stack.sqs, stack.queueUrl));
        List<String> left = bodies(QueueReader.drainMessages(stack.sqs, stack.dlqUrl));
        assertThat(report).contains("stopped early", "moved " + moved.size() + " messages");
        assertThat(moved).isNotEmpty();
        assertThat(left).contains("garbage from zed@example.com");
        List<String> all = new ArrayList<>(moved);
        all.addAll(left);
        all.remove("garbage from zed@example.com");
        assertThat(all).containsExactlyInAnyOrderElementsOf(seeded);
    }

    private static Target target(AwsStack stack) {
        return new Target("test", Map.of(Resource.DELTA_QUEUE, stack.queueUrl, Resource.DEAD_LETTER_QUEUE, stack.dlqUrl));
    }

    /** moto's SQS, except for SendMessageBatch: entries matching {@code refuse} fail, call {@code failCall} throws. */
    private static final class FaultySqs implements SqsClient {
        private final SqsClient delegate;
        private final Predicate<SendMessageBatchRequestEntry> refuse;
        private final int failCall;
        private final AtomicInteger calls = new AtomicInteger();

        FaultySqs(SqsClient delegate, Predicate<SendMessageBatchRequestEntry> refuse, int failCall) {
            this.delegate = delegate;
            this.refuse = refuse;
            this.failCall = failCall;
        }

        @Override
        public SendMessageBatchResponse sendMessageBatch(SendMessageBatchRequest request) {
            if (calls.incrementAndGet() == failCall) {
                throw SdkClientException.create("connection reset (injected)");
            }
            List<SendMessageBatchRequestEntry> pass = request.entries().stream().filter(refuse.negate()).toList();
            List<BatchResultErrorEntry> failed = request.entries().stream().filter(refuse)
                    .map(e -> BatchResultErrorEntry.builder().id(e.id()).code("InternalError").senderFault(false).build())
                    .toList();
            SendMessageBatchResponse sent = pass.isEmpty() ? SendMessageBatchResponse.builder().build()
                    : delegate.sendMessageBatch(request.toBuilder().entries(pass).build());
            return sent.toBuilder().failed(failed).build();
        }

        @Override
        public ReceiveMessageResponse receiveMessage(ReceiveMessageRequest request) {
            return delegate.receiveMessage(request);
        }

        @Override
        public DeleteMessageBatchResponse deleteMessageBatch(DeleteMessageBatchRequest request) {
            return delegate.deleteMessageBatch(request);
        }

        @Override
        public ChangeMessageVisibilityBatchResponse changeMessageVisibilityBatch(ChangeMessageVisibilityBatchRequest request) {
            return delegate.changeMessageVisibilityBatch(request);
        }

        @Override
        public GetQueueAttributesResponse getQueueAttributes(GetQueueAttributesRequest request) {
            return delegate.getQueueAttributes(request);
        }

        @Override
        public String serviceName() {
            return delegate.serviceName();
        }

        @Override
        public void close() {
            // The stack owns the delegate.
        }
    }
}
