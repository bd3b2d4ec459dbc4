package io.cohortsync.webhook;

import io.cohortsync.domain.DelayedDeltaQueue;
import io.cohortsync.mixpanel.MissingUserId;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The webhook's settings, all from environment variables (README "Configuration" lists each with
 * its default).
 *
 * @param missingUserId {@code MISSING_USER_ID}: with {@code USER_ID_PROPERTY} set, skip a member without it
 *                      (default) or sync it with its distinct id as Segment {@code anonymousId}
 */
public record WebhookConfig(String tableName, String deltaQueueUrl, String reconcileQueueUrl, String webhookSecretId,
                            Duration sessionTtl, int maxBodyBytes, Duration secretCacheTtl, int commitConcurrency,
                            Duration deltaDelay, String userIdProperty, boolean renameTraits, Duration historyTtl,
                            Map<String, String> extraTraits, Duration exitedTtl, MissingUserId missingUserId) {

    /** The settings of the features before anonymous members: members without the user-id property are skipped. */
    public WebhookConfig(String tableName, String deltaQueueUrl, String reconcileQueueUrl, String webhookSecretId,
                         Duration sessionTtl, int maxBodyBytes, Duration secretCacheTtl, int commitConcurrency,
                         Duration deltaDelay, String userIdProperty, boolean renameTraits, Duration historyTtl,
                         Map<String, String> extraTraits, Duration exitedTtl) {
        this(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes, secretCacheTtl,
                commitConcurrency, deltaDelay, userIdProperty, renameTraits, historyTtl, extraTraits, exitedTtl,
                MissingUserId.SKIP);
    }

    /** The core settings; the optional features at their defaults (no mapping, renames on, 30-day history). */
    public WebhookConfig(String tableName, String deltaQueueUrl, String reconcileQueueUrl, String webhookSecretId,
                         Duration sessionTtl, int maxBodyBytes, Duration secretCacheTtl, int commitConcurrency,
                         Duration deltaDelay) {
        this(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes, secretCacheTtl,
                commitConcurrency, deltaDelay, "", true, Duration.ofDays(30), Map.of(), Duration.ofDays(30));
    }

    /** Same settings with another identity mapping ({@code ""}: the distinct id). */
    public WebhookConfig withUserIdProperty(String property) {
        return new WebhookConfig(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes,
                secretCacheTtl, commitConcurrency, deltaDelay, property, renameTraits, historyTtl, extraTraits, exitedTtl,
                missingUserId);
    }

    /** Same settings with another rule for members without the user-id property. */
    public WebhookConfig withMissingUserId(MissingUserId rule) {
        return new WebhookConfig(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes,
                secretCacheTtl, commitConcurrency, deltaDelay, userIdProperty, renameTraits, historyTtl, extraTraits,
                exitedTtl, rule);
    }

    /** Same settings with another allow-list of member properties copied as traits. */
    public WebhookConfig withExtraTraits(Map<String, String> mapping) {
        return new WebhookConfig(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes,
                secretCacheTtl, commitConcurrency, deltaDelay, userIdProperty, renameTraits, historyTtl, mapping, exitedTtl,
                missingUserId);
    }

    /** Same settings with renames followed or not. */
    public WebhookConfig withRenameTraits(boolean follow) {
        return new WebhookConfig(tableName, deltaQueueUrl, reconcileQueueUrl, webhookSecretId, sessionTtl, maxBodyBytes,
                secretCacheTtl, commitConcurrency, deltaDelay, userIdProperty, follow, historyTtl, extraTraits, exitedTtl,
                missingUserId);
    }

    public WebhookConfig {
        Objects.requireNonNull(missingUserId, "missingUserId");
        if (deltaDelay.isNegative() || deltaDelay.toSeconds() > DelayedDeltaQueue.MAX_DELAY_SECONDS) {
            throw new IllegalArgumentException("DELTA_DELAY_SECONDS must be 0.." + DelayedDeltaQueue.MAX_DELAY_SECONDS
                    + " (the SQS maximum), was "
                    + deltaDelay.toSeconds());
        }
    }

    public static WebhookConfig fromEnvironment(Map<String, String> env) {
        return new WebhookConfig(
                required(env, "TABLE_NAME"),
                required(env, "DELTA_QUEUE_URL"),
                required(env, "RECONCILE_QUEUE_URL"),
                required(env, "WEBHOOK_SECRET_ID"),
                Duration.ofHours(Long.parseLong(env.getOrDefault("SESSION_TTL_HOURS", "72"))),
                Integer.parseInt(env.getOrDefault("MAX_BODY_BYTES", "6000000")),
                Duration.ofSeconds(Long.parseLong(env.getOrDefault("SECRET_CACHE_SECONDS", "300"))),
                Integer.parseInt(env.getOrDefault("COMMIT_CONCURRENCY", "16")),
                Duration.ofSeconds(Long.parseLong(env.getOrDefault("DELTA_DELAY_SECONDS", "5"))),
                env.getOrDefault("USER_ID_PROPERTY", ""),
                Boolean.parseBoolean(env.getOrDefault("RENAME_TRAITS", "true")),
                Duration.ofDays(Long.parseLong(env.getOrDefault("HISTORY_TTL_DAYS", "30"))),
                extraTraits(env.getOrDefault("EXTRA_TRAITS", "")),
                Duration.ofDays(Long.parseLong(env.getOrDefault("EXITED_TTL_DAYS", "30"))),
                missingUserId(env.get("MISSING_USER_ID")));
    }

    private static MissingUserId missingUserId(String value) {
        try {
            return MissingUserId.parse(value);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("environment variable " + e.getMessage());
        }
    }

    /**
     * {@code EXTRA_TRAITS}: comma-separated member properties to copy as traits, each {@code property} or
     * {@code property=trait name}, e.g. {@code $email=email,plan}. Empty: none.
     */
    static Map<String, String> extraTraits(String spec) {
        Map<String, String> mapping = new java.util.LinkedHashMap<>();
        for (String entry : spec.split(",")) {
            String e = entry.strip();
            if (e.isEmpty()) {
                continue;
            }
            int eq = e.indexOf('=');
            String property = (eq < 0 ? e : e.substring(0, eq)).strip();
            String trait = (eq < 0 ? e : e.substring(eq + 1)).strip();
            if (property.isEmpty() || trait.isEmpty()) {
                throw new IllegalStateException("EXTRA_TRAITS entry '" + e + "' must be 'property' or 'property=trait'");
            }
            mapping.put(property, trait);
        }
        return mapping;
    }

    private static String required(Map<String, String> env, String name) {
        String value = env.get(name);
        if (value == null || value.isBlank()) {
            throw new IllegalStateException("environment variable " + name + " is not set");
        }
        return value;
    }
}
