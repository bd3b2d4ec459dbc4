package io.cohortsync.sender;

import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.segment.IdentifyMessage;
import io.cohortsync.segment.SegmentCalls;
import io.cohortsync.segment.SegmentMessages;
import io.cohortsync.segment.SegmentRegion;

import java.net.URI;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The sender's settings, all from environment variables (README "Configuration" lists each with its
 * default).
 *
 * @param segmentBaseUrl      {@code SEGMENT_ENDPOINT} when set (a stand-in, a proxy), else the region's host
 * @param neverCommittedAfter a delta still ahead of the table this long after it was observed is dropped:
 *                            Mixpanel retries a failed call for about a minute, so its commit cannot come later
 * @param aheadRetryDelay     how long a not-yet-committed delta waits on the queue before another look
 * @param segmentTimeout      per-request timeout for Segment (also capped by the invocation's deadline)
 * @param maxReceiveCount     the delta queue's redrive {@code maxReceiveCount}, to log which failures SQS
 *                            is about to dead-letter
 * @param dryRun              {@code DRY_RUN}: check and build everything, send nothing to Segment, report counts
 * @param historyEnabled      {@code HISTORY_TTL_DAYS} > 0: add delivery counts to the webhook's sync history
 * @param messageIdNamespace  {@code MESSAGE_ID_NAMESPACE}: part of every messageId, so two deployments syncing the
 *                            same Mixpanel project never produce the same ids (Segment dedups them globally)
 * @param segmentCalls        {@code SEGMENT_CALLS}: identify (default), identify and Audience Entered/Exited track
 *                            events, or the events alone
 */
public record SenderConfig(String tableName, String deltaQueueUrl, String dlqUrl, String segmentSecretId,
                           URI segmentBaseUrl, String traitPrefix, Duration neverCommittedAfter,
                           Duration aheadRetryDelay, Duration segmentTimeout, Duration secretCacheTtl,
                           int maxReceiveCount, boolean dryRun, boolean historyEnabled, String messageIdNamespace,
                           SegmentCalls segmentCalls) {

    public SenderConfig(String tableName, String deltaQueueUrl, String dlqUrl, String segmentSecretId,
                        URI segmentBaseUrl, String traitPrefix, Duration neverCommittedAfter, Duration aheadRetryDelay,
                        Duration segmentTimeout, Duration secretCacheTtl, int maxReceiveCount) {
        this(tableName, deltaQueueUrl, dlqUrl, segmentSecretId, segmentBaseUrl, traitPrefix, neverCommittedAfter,
                aheadRetryDelay, segmentTimeout, secretCacheTtl, maxReceiveCount, false, false, null, SegmentCalls.IDENTIFY);
    }

    /** The messages each delta becomes under these settings. */
    public SegmentMessages segmentMessages() {
        return new SegmentMessages(segmentCalls, traitPrefix, messageIdNamespace);
    }

    public SenderConfig {
        Objects.requireNonNull(tableName, "tableName");
        Objects.requireNonNull(deltaQueueUrl, "deltaQueueUrl");
        Objects.requireNonNull(dlqUrl, "dlqUrl");
        Objects.requireNonNull(segmentSecretId, "segmentSecretId");
        Objects.requireNonNull(segmentBaseUrl, "segmentBaseUrl");
        Objects.requireNonNull(traitPrefix, "traitPrefix");
        Objects.requireNonNull(segmentCalls, "segmentCalls");
        if (!segmentBaseUrl.isAbsolute() || !("https".equals(segmentBaseUrl.getScheme())
                || "http".equals(segmentBaseUrl.getScheme()))) {
            throw new IllegalArgumentException("segmentBaseUrl must be an absolute http(s) URL, was " + segmentBaseUrl);
        }
        positive(neverCommittedAfter, "neverCommittedAfter");
        Objects.requireNonNull(aheadRetryDelay, "aheadRetryDelay");
        if (aheadRetryDelay.isNegative() || aheadRetryDelay.toSeconds() > DelayedDeltaQueue.MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("aheadRetryDelay must be 0.." + DelayedDeltaQueue.MAX_DELAY_SECONDS
                    + " s (the SQS maximum), was " + aheadRetryDelay.toSeconds() + " s");
        }
        positive(segmentTimeout, "segmentTimeout");
        positive(secretCacheTtl, "secretCacheTtl");
        if (maxReceiveCount < 1) {
            throw new IllegalArgumentException("maxReceiveCount must be >= 1, was " + maxReceiveCount);
        }
    }

    public static SenderConfig fromEnvironment(Map<String, String> env) {
        String endpoint = env.get("SEGMENT_ENDPOINT");
        URI baseUrl = endpoint != null && !endpoint.isBlank() ? URI.create(endpoint.trim())
                : SegmentRegion.parse(env.getOrDefault("SEGMENT_REGION", "US")).baseUrl();
        return new SenderConfig(
                required(env, "TABLE_NAME"),
                required(env, "DELTA_QUEUE_URL"),
                required(env, "DLQ_URL"),
                required(env, "SEGMENT_SECRET_ID"),
                baseUrl,
                env.getOrDefault("TRAIT_PREFIX", IdentifyMessage.DEFAULT_TRAIT_PREFIX),
                Duration.ofSeconds(number(env, "NEVER_COMMITTED_AFTER_SECONDS", 900)),
                Duration.ofSeconds(number(env, "AHEAD_RETRY_DELAY_SECONDS", 15)),
                Duration.ofMillis(number(env, "SEGMENT_TIMEOUT_MS", 10_000)),
                Duration.ofSeconds(number(env, "SECRET_CACHE_SECONDS", 300)),
                (int) number(env, "MAX_RECEIVE_COUNT", 5),
                Boolean.parseBoolean(env.getOrDefault("DRY_RUN", "false")),
                number(env, "HISTORY_TTL_DAYS", 30) > 0,
                env.get("MESSAGE_ID_NAMESPACE") == null || env.get("MESSAGE_ID_NAMESPACE").isBlank() ? null
                        : env.get("MESSAGE_ID_NAMESPACE"),
                segmentCalls(env.get("SEGMENT_CALLS")));
    }

    private static SegmentCalls segmentCalls(String value) {
        try {
            return SegmentCalls.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("environment variable " + e.getMessage());
        }
    }

    private static String required(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("environment variable " + name + " is not set");
        }
        return value;
    }

    private static long number(Map<String, String> env, String name, long defaultValue) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            return defaultValue;
        }
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalStateException("environment variable " + name + " must be a whole number, was '"
                    + value + "'");
        }
    }

    private static void positive(Duration d, String field) {
        Objects.requireNonNull(d, field);
        if (d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(field + " must be positive, was " + d);
        }
    }
}
