package io.cohortsync.domain;

import java.util.Optional;
import java.util.Set;

/**
 * Port: receipts of the pages of one {@code members} export session, so users absent from a full
 * export exit only once every page has arrived.
 */
public interface SessionStore {
    /** Records that {@code page} (1-based) of {@code totalPages} arrived carrying {@code distinctIds}. Idempotent. */
    void recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds);

    /** The pages recorded so far. */
    Set<Integer> receivedPages(SessionKey session);

    /** Every distinct id that any recorded page carried. */
    Set<String> exportedIds(SessionKey session);

    /** The outcome of the exit pass, once one was decided. */
    Optional<SessionOutcome> outcome(SessionKey session);

    /** Records the exit pass's outcome; later pages or replays of this session then skip it. */
    void recordOutcome(SessionKey session, SessionOutcome outcome);
}
