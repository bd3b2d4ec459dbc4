package io.cohortsync.cli;

/** The command line is wrong (unknown command or option, a missing or malformed value): exit code 2. */
final class UsageException extends Exception {
    UsageException(String message) {
        super(message);
    }
}
