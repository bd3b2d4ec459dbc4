package io.cohortsync.cli;

import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import static io.cohortsync.cli.Seed.CHURN;
import static io.cohortsync.cli.Seed.POWER;
import static io.cohortsync.cli.Seed.SEGMENT_REJECTED;
import static io.cohortsync.cli.Seed.body;
import static io.cohortsync.cli.Seed.delta;
import static org.assertj.core.api.Assertions.assertThat;

/** {@code rejected} against moto: the report's shape, that it names no user, and that it consumes nothing. */
@ExtendWith(MotoExtension.class)
class RejectedIT {

    @Test
    void rejected_reportsByReasonAndCohort_andLeavesEveryMessageVisible(AwsStack stack) {
        // given two rejections by Segment, two redrives by SQS, one undecodable message, and a reason that
        // quotes a user
        Seed.deadLetter(stack, SEGMENT_REJECTED, body(delta(POWER, "alice@example.com", true, 1)));
        Seed.deadLetter(stack, SEGMENT_REJECTED, body(delta(POWER, "bob@example.com", false, 2)));
        Seed.redriven(stack, body(delta(CHURN, "carol@example.com", true, 1), delta(CHURN, "dave@example.com", true, 4),
                delta(CHURN, "erin@example.com", false, 2)));
        Seed.redriven(stack, body(delta(POWER, "frank@example.com", true, 1)));
        Seed.deadLetter(stack, "undecodable delta message: message body is not JSON", "{not json gina@example.com");
        Seed.deadLetter(stack, "Segment rejected the message: userId hank@example.com is invalid",
                body(delta(POWER, "hank@example.com", true, 7)));

        // when
        CliRun r = CliRun.run("rejected", "--dlq-url", stack.dlqUrl);

        // then
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        assertThat(r.out()).contains(
                "about 6 visible; read 6 messages, all made visible again (nothing consumed)",
                """
                reason: %s
                  2 messages, 2 deltas
                  cohorts (project/cohort: deltas): 2195193/1457721: 2
                """.formatted(SEGMENT_REJECTED),
                """
                reason: redriven by SQS after maxReceiveCount
                  2 messages, 4 deltas
                  cohorts (project/cohort: deltas): 2195193/99: 3, 2195193/1457721: 1
                """,
                """
                reason: undecodable delta message: message body is not JSON
                  1 message, 0 deltas, 1 not a delta message
                """,
                """
                reason: Segment rejected the message: userId <email> is invalid
                  1 message, 1 delta
                """,
                "total: 6 messages, 7 deltas, 2 cohorts");
        assertThat(r.all()).doesNotContain("@example.com").doesNotContain("hank").doesNotContain("gina");
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(6, 0);
    }

    @Test
    void rejected_stopsAtLimit_andStillConsumesNothing(AwsStack stack) {
        // given 15 messages
        for (int i = 0; i < 15; i++) {
            Seed.redriven(stack, body(delta(POWER, "user" + i + "@example.com", true, 1)));
        }

        // when
        CliRun r = CliRun.run("rejected", "--dlq-url", stack.dlqUrl, "--limit", "12");

        // then
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("read 12 messages", "stopped at --limit 12; about 3 more not read",
                "total: 12 messages, 12 deltas, 1 cohort");
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(15, 0);
    }

    @Test
    void rejected_saysSo_whenTheQueueIsEmpty(AwsStack stack) {
        CliRun r = CliRun.run("rejected", "--dlq-url", stack.dlqUrl);

        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("read 0 messages", "the dead-letter queue is empty").doesNotContain("total:");
    }

    @Test
    void rejected_failsWithOneLineAndExit2_whenTheQueueDoesNotExist(AwsStack stack) {
        CliRun r = CliRun.run("rejected", "--dlq-url", stack.dlqUrl + "-nope");

        assertThat(r.code()).isEqualTo(2);
        assertThat(r.err()).startsWith("cohort-sync: SQS refused: ").hasLineCount(1);
    }

    @Test
    void rejected_printsOneJsonDocument_whenOutputJson(AwsStack stack) throws Exception {
        // given
        Seed.deadLetter(stack, SEGMENT_REJECTED, body(delta(POWER, "alice@example.com", true, 1)));
        Seed.redriven(stack, body(delta(CHURN, "carol@example.com", true, 1), delta(CHURN, "dave@example.com", true, 4)));

        // when
        CliRun r = CliRun.run("rejected", "--dlq-url", stack.dlqUrl, "--output", "json");

        // then
        assertThat(r.code()).isZero();
        assertThat(r.err()).isEmpty();
        com.fasterxml.jackson.databind.JsonNode doc = new com.fasterxml.jackson.databind.ObjectMapper().readTree(r.out());
        assertThat(doc.path("messages").asInt()).isEqualTo(2);
        assertThat(doc.path("deltas").asInt()).isEqualTo(3);
        assertThat(doc.path("byReason")).extracting(g -> g.path("reason").asText(), g -> g.path("deltas").asInt())
                .containsExactly(org.assertj.core.api.Assertions.tuple(SEGMENT_REJECTED, 1),
                        org.assertj.core.api.Assertions.tuple(DlqSummary.REDRIVEN, 2));
        assertThat(doc.path("byReason").get(1).path("cohorts").get(0).path("cohortId").asText()).isEqualTo(CHURN.cohortId());
        assertThat(r.out()).doesNotContain("@example.com");
        assertThat(Seed.depth(stack.sqs, stack.dlqUrl)).containsExactly(2, 0);
    }
}
