package io.cohortsync.segment;

/** Port: the current Segment write key, and a way to re-read it when Segment refuses it (rotation). */
public interface WriteKeySource {
    /** @throws io.cohortsync.domain.DependencyUnavailableException when it cannot be read */
    String current();

    /** Re-reads the key now. @throws io.cohortsync.domain.DependencyUnavailableException when it cannot be read */
    void refresh();
}
