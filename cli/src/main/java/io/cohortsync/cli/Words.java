package io.cohortsync.cli;

/** Report wording. */
final class Words {
    private Words() {
    }

    /** "1 message", "3 messages". */
    static String count(long n, String noun) {
        return n + " " + noun + (n == 1 ? "" : "s");
    }
}
