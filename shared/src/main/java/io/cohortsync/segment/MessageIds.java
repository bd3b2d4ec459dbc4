package io.cohortsync.segment;

import io.cohortsync.domain.Delta;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;

/**
 * Deterministic Segment {@code messageId}s. Segment drops a message whose id it saw in the last ~24 h,
 * globally across workspaces, so the id must be (a) the same every time the same change is sent (a
 * retry or an SQS redelivery then has no second effect) and (b) different for any other change, and
 * (c) namespaced so it never collides with another product's ids. It is
 * {@code "cohort-sync-" + base64url(sha256(fields))} without padding: 55 characters, under Segment's
 * 100. Base64url rather than hex keeps all 256 bits in 21 fewer bytes per message, and bytes per
 * message decide how many identifies fit in one 500 KB {@code /v1/batch} request.
 *
 * <p>Fields: project id, cohort id, trait prefix, cohort name, distinct id, version, membership, and
 * when set the mapped user id, the previous name of a rename and a backfill's resend token: all
 * that decides the message's content (the trait key is prefix + name, so a renamed cohort or a new
 * prefix yields a new id rather than a message Segment would drop as a copy). {@code observedAt} is
 * left out on purpose: the same change observed twice (a webhook retry after a crash) is one change.
 * Each field is length-prefixed, so no two different field tuples share an encoding.
 *
 * <p>Per call type: the identify's id is the one above (unchanged since before track events existed); the
 * Audience Entered/Exited track event of the same change hashes the same fields tagged {@code purpose=track},
 * and a rename's clearing identify {@code purpose=clear-previous-name}, so the calls of one change never share
 * an id, and each is the same on every retry. An anonymous user's calls are tagged {@code anonymous}
 * (their content differs: {@code anonymousId} instead of {@code userId}).
 */
public final class MessageIds {
    public static final String NAMESPACE = "cohort-sync-";
    /** Bumped only if the encoding below ever changes (it would re-send everything in flight once). */
    private static final String SCHEME = "cohort-sync/message-id/1";
    private static final Base64.Encoder BASE64URL = Base64.getUrlEncoder().withoutPadding();

    private MessageIds() {
    }

    public static String of(Delta delta, String traitPrefix) {
        return of(delta, traitPrefix, null);
    }

    /**
     * @param namespace set per deployment ({@code MESSAGE_ID_NAMESPACE}): Segment drops repeated ids across
     *                  all workspaces, so two deployments syncing the same Mixpanel project to different
     *                  sources must not produce the same ids; null leaves it out
     */
    public static String of(Delta delta, String traitPrefix, String namespace) {
        return of(delta, traitPrefix, namespace, null);
    }

    /** The id of {@link IdentifyMessage#clearing}: the delta's fields, tagged as a clearing message. */
    public static String clearing(Delta delta, String traitPrefix, String namespace) {
        return of(delta, traitPrefix, namespace, "clear-previous-name");
    }

    /** The id of {@link TrackMessage#of}: the delta's fields, tagged as its track event. */
    public static String track(Delta delta, String traitPrefix, String namespace) {
        return of(delta, traitPrefix, namespace, "track");
    }

    private static String of(Delta delta, String traitPrefix, String namespace, String purpose) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(128);
        field(bytes, SCHEME);
        optional(bytes, "purpose", purpose);
        optional(bytes, "namespace", namespace);
        optional(bytes, "connection", delta.cohort().isDefaultConnection() ? null : delta.cohort().connection());
        field(bytes, delta.cohort().projectId());
        field(bytes, delta.cohort().cohortId());
        field(bytes, traitPrefix);
        field(bytes, delta.cohortName());
        field(bytes, delta.distinctId());
        field(bytes, Long.toString(delta.version()));
        field(bytes, delta.member() ? "1" : "0");
        // Optional parts, tagged, and only when present: plain changes keep the ids they always had.
        optional(bytes, "userId", delta.userId());
        optional(bytes, "previousName", delta.previousName());
        optional(bytes, "resend", delta.resend());
        optional(bytes, "anonymous", delta.anonymous() ? "1" : null);
        delta.extraTraits().forEach((k, v) -> { // sorted by key (Delta keeps them in a TreeMap)
            field(bytes, "trait");
            field(bytes, k);
            field(bytes, v.getClass().getSimpleName() + ":" + v);
        });
        return NAMESPACE + BASE64URL.encodeToString(sha256().digest(bytes.toByteArray()));
    }

    private static void optional(ByteArrayOutputStream out, String tag, String value) {
        if (value != null) {
            field(out, tag);
            field(out, value);
        }
    }

    private static void field(ByteArrayOutputStream out, String value) {
        byte[] utf8 = value.getBytes(StandardCharsets.UTF_8);
        out.writeBytes(ByteBuffer.allocate(Integer.BYTES).putInt(utf8.length).array());
        out.writeBytes(utf8);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every JDK", e);
        }
    }
}
