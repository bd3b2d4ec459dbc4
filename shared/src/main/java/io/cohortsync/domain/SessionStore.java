package io.cohortsync.domain;

import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Port: receipts of the pages of one {@code members} export session, so users absent from a full
 * export exit only once every page has arrived. A page's ids are stored split by {@link Shards}, so
 * the reconciler's job for one shard reads only that shard's ids.
 */
public interface SessionStore {
    /**
     * Records that {@code page} (1-based) of {@code totalPages} arrived carrying {@code distinctIds}.
     * Idempotent: a page recorded again is counted once.
     *
     * @return how many distinct pages of the session are recorded, this one included (O(1): a counter,
     *         not a listing of the receipts, so the pages of a 10,000-page export cost the same)
     */
    int recordPage(SessionKey session, int page, int totalPages, Set<String> distinctIds);

    /**
     * How many distinct pages of the session are recorded, if {@code page} is among them (a replay: it
     * must cost reads only), else empty.
     */
    OptionalInt pagesIfRecorded(SessionKey session, int page);

    /**
     * Streams every distinct id of {@code shard} that any recorded page carried (a page's ids once per
     * page; an id on two pages may come twice). Memory stays at one stored piece.
     */
    void forEachExportedId(SessionKey session, int shard, Consumer<String> each);

    /** The outcome of the session's exit pass, once its completion was committed. */
    Optional<SessionOutcome> outcome(SessionKey session);

    /** Records the exit pass's final outcome (APPLIED or HELD, with its counts). */
    void recordOutcome(SessionKey session, SessionOutcome outcome);
}
