package io.cohortsync.cli;

import io.cohortsync.domain.Delta;

import java.util.Collection;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Makes a dead-letter {@code reason} fit to print. The sender's reasons name a cause ("Segment answered
 * 400 to this message alone", "undecodable delta message: …"), but an exception message inside one may
 * quote the input, and the input is distinct ids, often e-mail addresses. So: quoted text (except a
 * delta-schema field name), anything
 * shaped like an e-mail address, and every distinct id and user id of the message itself are masked,
 * and the result is cut to {@link #MAX_CHARS}.
 */
final class Redaction {
    static final int MAX_CHARS = 200;
    private static final Pattern QUOTED = Pattern.compile("'[^']*'|\"[^\"]*\"|`[^`]*`");
    private static final Pattern EMAIL = Pattern.compile("[^\\s'\"`<>()\\[\\]{},;:]+@[^\\s'\"`<>()\\[\\]{},;:]+");
    /** Characters that can be part of an id token; an id is masked where it stands as a whole token. */
    private static final String TOKEN = "[\\p{L}\\p{N}._@+\\-]";
    /** Quoted field names of the delta schema say what is wrong, and quote no user data: kept. */
    private static final Set<String> SCHEMA_FIELDS = Set.of("schema", "projectId", "cohortId", "cohortName",
            "observedAt", "previousName", "resend", "changes", "id", "member", "version", "userId");

    private Redaction() {
    }

    /** The reason as it may be shown, for a message carrying {@code deltas} (null: undecodable). */
    static String reason(String reason, List<Delta> deltas) {
        Set<String> ids = new LinkedHashSet<>();
        if (deltas != null) {
            for (Delta d : deltas) {
                ids.add(d.distinctId());
                if (d.userId() != null) {
                    ids.add(d.userId());
                }
            }
        }
        return masked(reason, ids);
    }

    /** The reason as it may be shown, for a message carrying the distinct ids and user ids {@code ids}. */
    static String masked(String reason, Collection<String> ids) {
        String s = reason.replaceAll("\\s+", " ").strip();
        s = QUOTED.matcher(s).replaceAll(q -> {
            String inside = q.group().substring(1, q.group().length() - 1);
            return SCHEMA_FIELDS.contains(inside) ? Matcher.quoteReplacement(q.group()) : "'…'";
        });
        s = EMAIL.matcher(s).replaceAll("<email>");
        // Longest first, so an id that contains another is masked whole.
        for (String id : ids.stream().filter(i -> !i.isBlank()).sorted(Comparator.comparingInt(String::length).reversed()).toList()) {
            s = s.replaceAll("(?<!" + TOKEN + ")" + Pattern.quote(id) + "(?!" + TOKEN + ")", "<id>");
        }
        if (s.length() > MAX_CHARS) {
            s = s.substring(0, MAX_CHARS - 1) + "…";
        }
        return s;
    }
}
