package io.cohortsync.sender;

import io.cohortsync.send.SendOutcome;
import io.cohortsync.send.SenderCore;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;

/**
 * One SQS batch of delta messages → the {@link SenderCore} (the rules, in {@code shared}) → its
 * telemetry → the ids of the records that must come back. Which records those are is decided by the
 * core's {@link SendOutcome} alone.
 */
final class SenderService {
    /**
     * Kept back from the invocation's remaining time for what follows the Segment calls (re-queue and
     * dead-letter writes, the log line): an SQS call takes well under a second, 5 s leaves room for
     * the SDK's own retries.
     */
    static final Duration DEADLINE_MARGIN = Duration.ofSeconds(5);

    private final SenderCore core;
    private final SenderTelemetry telemetry;
    private final Clock clock;

    SenderService(SenderCore core, SenderTelemetry telemetry, Clock clock) {
        this.core = core;
        this.telemetry = telemetry;
        this.clock = clock;
    }

    SenderResult handle(SenderRequest request) {
        long started = System.nanoTime();
        Instant deadline = clock.instant().plus(request.remainingTime()).minus(DEADLINE_MARGIN);
        SendOutcome outcome = core.handle(request.records(), deadline);
        telemetry.report(outcome, (System.nanoTime() - started) / 1e6);
        return new SenderResult(outcome.failedMessageIds());
    }
}
