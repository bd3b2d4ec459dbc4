package io.cohortsync.domain;

import java.util.List;

/** Port: the dead-letter queue, where messages we give up on wait, with their reason, to be replayed. */
public interface DeadLetterQueue {
    /**
     * Returns only once every letter is durably queued.
     *
     * @throws DependencyUnavailableException if any could not be (retryable)
     */
    void send(List<DeadLetter> letters);
}
