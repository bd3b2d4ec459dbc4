package io.cohortsync.segment;

import io.cohortsync.domain.DependencyUnavailableException;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * How messages reach Segment, and what happens when Segment says no. Batches go one at a time (Segment
 * advises ~1,000 requests/s per workspace at most, and one sender instance stays far below).
 * <ul>
 *   <li>2xx: accepted.</li>
 *   <li>400/413: Segment refuses the request as a whole, so the batch is halved and each half retried
 *       at once, recursively; the good messages go through and a message refused alone is rejected
 *       (≈ 2·log2(n) extra requests per bad message).</li>
 *   <li>401/403: the write key is re-read once per delivery (it may have been rotated) and the batch
 *       retried; refused again, everything left is unsent. A config error never drops data.</li>
 *   <li>408, 429, 5xx, timeouts, connection errors: retried after {@code Retry-After} (429) or an
 *       exponential backoff with full jitter, at most {@link #MAX_ATTEMPTS} attempts per batch; a
 *       batch that exhausts them means Segment is down, so the rest is not tried either.</li>
 *   <li>Nothing waits or sends past the caller's deadline: what is left then is unsent.</li>
 * </ul>
 * Before a retry that followed a wait, the caller may withdraw messages that stopped being current
 * ({@link StillCurrent}), so a long backoff cannot push an old change after a newer one.
 * Randomness and time are taken at call time only (SnapStart).
 */
public final class SegmentDelivery {
    public static final Duration BASE_BACKOFF = Duration.ofMillis(200);
    public static final Duration MAX_BACKOFF = Duration.ofSeconds(5);
    /** Attempts per batch for transient failures; 1 + 4 retries ≈ 3 s of expected backoff in all. */
    public static final int MAX_ATTEMPTS = 5;
    /** A request is not started with less time than this before the deadline. */
    public static final Duration MIN_REQUEST_TIME = Duration.ofMillis(100);

    /** Waits; the production one is {@link Thread#sleep(Duration)}. */
    @FunctionalInterface
    public interface Sleeper {
        void sleep(Duration duration) throws InterruptedException;
    }

    /** Of the given message ids, those still worth sending. Must not throw. */
    @FunctionalInterface
    public interface StillCurrent {
        Set<String> retain(Set<String> messageIds);

        StillCurrent ALL = ids -> ids;
    }

    private final SegmentTransport transport;
    private final WriteKeySource writeKey;
    private final Duration requestTimeout;
    private final Clock clock;
    private final Sleeper sleeper;
    private final Supplier<RandomGenerator> random;

    public SegmentDelivery(SegmentTransport transport, WriteKeySource writeKey, Duration requestTimeout, Clock clock,
                           Sleeper sleeper, Supplier<RandomGenerator> random) {
        this.transport = Objects.requireNonNull(transport, "transport");
        this.writeKey = Objects.requireNonNull(writeKey, "writeKey");
        this.requestTimeout = Objects.requireNonNull(requestTimeout, "requestTimeout");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.sleeper = Objects.requireNonNull(sleeper, "sleeper");
        this.random = Objects.requireNonNull(random, "random");
    }

    /** Real sleeping, and a thread-local random generator fetched at each use. */
    public static SegmentDelivery standard(SegmentTransport transport, WriteKeySource writeKey, Duration requestTimeout,
                                           Clock clock) {
        return new SegmentDelivery(transport, writeKey, requestTimeout, clock, Thread::sleep, ThreadLocalRandom::current);
    }

    /**
     * Sends every message (distinct message ids) and reports each one's outcome.
     *
     * @param deadline nothing is waited for or sent after it
     */
    public DeliveryReport deliver(List<EncodedMessage> messages, Instant deadline, StillCurrent stillCurrent) {
        Run run = new Run(deadline, stillCurrent);
        Map<String, EncodedMessage> distinct = new LinkedHashMap<>();
        messages.forEach(m -> distinct.putIfAbsent(m.messageId(), m));
        SegmentBatcher.Packing packing = SegmentBatcher.pack(List.copyOf(distinct.values()));
        packing.oversize().forEach(o -> run.outcomes.put(o.message().messageId(), new MessageOutcome.Rejected(o.reason())));
        packing.batches().forEach(b -> run.queue.addLast(new Pending(b, 0)));
        run.drain();
        return new DeliveryReport(run.outcomes, run.byLabel, run.requests, run.retries, run.splits, run.bytesSent);
    }

    private record Pending(SegmentBatch batch, int failures) {
    }

    /** The state of one delivery. */
    private final class Run {
        final Instant deadline;
        final StillCurrent stillCurrent;
        final Deque<Pending> queue = new ArrayDeque<>();
        final Map<String, MessageOutcome> outcomes = new HashMap<>();
        final Map<String, Integer> byLabel = new TreeMap<>();
        int requests;
        int retries;
        int splits;
        long bytesSent;
        boolean keyRefreshed;
        /** Once set, nothing more is sent: every remaining message is unsent for this reason. */
        String stop;

        Run(Instant deadline, StillCurrent stillCurrent) {
            this.deadline = deadline;
            this.stillCurrent = stillCurrent;
        }

        void drain() {
            while (!queue.isEmpty()) {
                Pending current = queue.pollFirst();
                if (stop == null) {
                    attempt(current);
                } else {
                    unsent(current.batch(), stop);
                }
            }
        }

        private void attempt(Pending current) {
            Duration left = Duration.between(clock.instant(), deadline);
            if (left.compareTo(MIN_REQUEST_TIME) < 0) {
                stop("deadline reached before sending", current);
                return;
            }
            String key;
            try {
                key = writeKey.current();
            } catch (DependencyUnavailableException e) {
                stop(keyUnavailable(e), current);
                return;
            }
            byte[] body = current.batch().body(clock.instant());
            SegmentResponse response = transport.postBatch(body, key, min(requestTimeout, left));
            requests++;
            bytesSent += body.length;
            byLabel.merge(response.label(), 1, Integer::sum);
            switch (response) {
                case SegmentResponse.Answered a when a.status() / 100 == 2 -> accepted(current.batch());
                case SegmentResponse.Answered a when a.status() == 400 || a.status() == 413 -> refused(current, a.status());
                case SegmentResponse.Answered a when a.status() == 401 || a.status() == 403 -> keyRefused(current, a.status());
                case SegmentResponse.Answered a when a.status() == 429 ->
                        retryLater(current, a.retryAfter().orElseGet(() -> backoff(current.failures() + 1)), "429");
                case SegmentResponse.Answered a when a.status() == 408 || a.status() >= 500 ->
                        retryLater(current, backoff(current.failures() + 1), Integer.toString(a.status()));
                case SegmentResponse.Answered a ->
                        // Another status means a wrong endpoint or a proxy in the way: a config error, so
                        // keep the data (unsent) and let the failure surface instead of waiting here.
                        unsent(current.batch(), "Segment answered unexpected status " + a.status());
                case SegmentResponse.TimedOut t -> retryLater(current, backoff(current.failures() + 1), "timeout");
                case SegmentResponse.Unreachable u ->
                        retryLater(current, backoff(current.failures() + 1), "connection error " + u.error());
            }
        }

        private void accepted(SegmentBatch batch) {
            Instant at = clock.instant();
            batch.messages().forEach(m -> outcomes.put(m.messageId(), new MessageOutcome.Accepted(at)));
        }

        private void refused(Pending current, int status) {
            if (current.batch().size() == 1) {
                outcomes.put(current.batch().messages().getFirst().messageId(), new MessageOutcome.Rejected(
                        "Segment answered " + status + " to this message alone"));
                return;
            }
            List<SegmentBatch> halves = current.batch().halves();
            splits += 2;
            queue.addFirst(new Pending(halves.get(1), 0));
            queue.addFirst(new Pending(halves.get(0), 0));
        }

        private void keyRefused(Pending current, int status) {
            if (keyRefreshed) {
                stop("Segment refused the write key (" + status + ") after it was re-read", current);
                return;
            }
            keyRefreshed = true;
            try {
                writeKey.refresh();
            } catch (DependencyUnavailableException e) {
                stop(keyUnavailable(e), current);
                return;
            }
            retries++;
            queue.addFirst(current);
        }

        /** A key that was never stored says so (and how to store it); any other failure to read it is named. */
        private static String keyUnavailable(DependencyUnavailableException e) {
            return e instanceof WriteKeyNotSetException notSet ? notSet.reason()
                    : "Segment write key unavailable (" + e.getMessage() + ")";
        }

        private void retryLater(Pending current, Duration wait, String why) {
            int failures = current.failures() + 1;
            if (failures >= MAX_ATTEMPTS) {
                stop("Segment still failing after " + failures + " attempts (last: " + why + ")", current);
                return;
            }
            Instant resumeAt = clock.instant().plus(wait);
            if (resumeAt.plus(MIN_REQUEST_TIME).isAfter(deadline)) {
                stop("no time left to retry before the deadline (last: " + why + ")", current);
                return;
            }
            try {
                sleeper.sleep(wait);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stop("interrupted while waiting to retry (last: " + why + ")", current);
                return;
            }
            retries++;
            queue.addFirst(new Pending(current.batch(), failures));
            withdrawStale();
        }

        /** Asks the caller which pending messages are still current and drops the others. */
        private void withdrawStale() {
            Set<String> pending = new HashSet<>();
            queue.forEach(p -> p.batch().messages().forEach(m -> pending.add(m.messageId())));
            Set<String> keep = stillCurrent.retain(Set.copyOf(pending));
            Set<String> gone = new HashSet<>(pending);
            gone.removeAll(keep);
            if (gone.isEmpty()) {
                return;
            }
            gone.forEach(id -> outcomes.put(id, new MessageOutcome.Withdrawn()));
            Deque<Pending> kept = new ArrayDeque<>();
            for (Pending p : queue) {
                SegmentBatch rest = p.batch().without(gone);
                if (rest != null) {
                    kept.addLast(new Pending(rest, p.failures()));
                }
            }
            queue.clear();
            queue.addAll(kept);
        }

        private void stop(String reason, Pending current) {
            stop = reason;
            unsent(current.batch(), reason);
        }

        private void unsent(SegmentBatch batch, String reason) {
            batch.messages().forEach(m -> outcomes.put(m.messageId(), new MessageOutcome.Unsent(reason)));
        }

        /** Full jitter: uniform in [0, min(max, base · 2^(n-1))]. */
        private Duration backoff(int failureNumber) {
            long ceiling = Math.min(MAX_BACKOFF.toMillis(), BASE_BACKOFF.toMillis() << Math.min(20, failureNumber - 1));
            return Duration.ofMillis(random.get().nextLong(ceiling + 1));
        }
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }
}
