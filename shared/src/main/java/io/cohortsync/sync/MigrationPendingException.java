package io.cohortsync.sync;

/**
 * The cohort's state is still in the layout of an earlier version while the reconciler moves it:
 * transient (Mixpanel retries a 503), never a reason to pause the sync.
 */
public final class MigrationPendingException extends RuntimeException {
    public MigrationPendingException() {
        super("this cohort's stored state is being migrated to the sharded layout; retry shortly");
    }
}
