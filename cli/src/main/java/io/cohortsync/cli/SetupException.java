package io.cohortsync.cli;

/**
 * The command line is fine but what it points at cannot be used: no credentials or region, no such
 * stack, output, queue or table, no stored cohort name. Exit code 2, like a usage error: nothing was
 * changed, and the fix is on the operator's side.
 */
final class SetupException extends Exception {
    SetupException(String message) {
        super(message);
    }
}
