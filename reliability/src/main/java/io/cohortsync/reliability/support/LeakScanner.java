package io.cohortsync.reliability.support;

import io.cohortsync.testkit.AwsStack;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Looks for personal data and secrets in text the functions produced (log lines, error messages).
 * Every member the suites send is built by {@code testkit.Exports}: distinct ids are emails at
 * {@code example.com}, and each member carries an email at {@code mail.example.org}, names starting
 * {@code Firstname}/{@code Lastname} and a {@code +1-555-} phone, so these markers find any of them;
 * the webhook password and the Segment write key are searched verbatim, as are any extra strings
 * (wrong passwords a test sent, unusual ids).
 */
public final class LeakScanner {
    private final Set<String> needles = new LinkedHashSet<>(List.of("@example.com", "mail.example.org",
            "Firstname", "Lastname", "+1-555-", AwsStack.WEBHOOK_PASSWORD, AwsStack.SEGMENT_WRITE_KEY));

    public LeakScanner also(String... more) {
        for (String s : more) {
            if (s != null && !s.isEmpty()) {
                needles.add(s);
            }
        }
        return this;
    }

    /** Each needle found, with the line it was found on (cut to 300 characters). */
    public List<String> scan(String text) {
        List<String> found = new ArrayList<>();
        if (text.isEmpty()) {
            return found;
        }
        for (String needle : needles) {
            int at = text.indexOf(needle);
            if (at >= 0) {
                int from = text.lastIndexOf('\n', at) + 1;
                int to = text.indexOf('\n', at);
                String line = text.substring(from, to < 0 ? text.length() : to);
                found.add("'" + needle + "' in: " + (line.length() > 300 ? line.substring(0, 300) + "…" : line));
            }
        }
        return found;
    }
}
