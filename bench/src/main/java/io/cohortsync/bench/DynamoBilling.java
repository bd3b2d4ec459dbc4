package io.cohortsync.bench;

/**
 * DynamoDB's on-demand billing rules (Developer Guide, "Read/write capacity mode" and "Item sizes"),
 * in one place so the SDK meter of {@code make bench} and the fakes of {@code make bench-scale} bill
 * the same way:
 * <ul>
 *   <li>a write is one unit per started KB of the larger of the item before and after it (at least
 *       one), whether its condition held or not; in a transaction, twice that;</li>
 *   <li>a read of one item (GetItem, each key of a BatchGetItem) is one unit per started 4 KB (at
 *       least one, also for a missing item), half that when eventually consistent;</li>
 *   <li>a Query page is one read of the total size of every item it read, rounded up to 4 KB once,
 *       however many items it returned;</li>
 *   <li>the per-partition limits: about 1,000 write units and 3,000 read units a second per partition
 *       key (what a hot key can take before it is throttled).</li>
 * </ul>
 */
final class DynamoBilling {
    static final int WRITE_UNIT_BYTES = 1024;
    static final int READ_UNIT_BYTES = 4096;
    /** A Query (or Scan) page stops at 1 MB of items read. */
    static final int QUERY_PAGE_BYTES = 1024 * 1024;
    static final double PARTITION_WRITE_UNITS_PER_SECOND = 1000;
    static final double PARTITION_READ_UNITS_PER_SECOND = 3000;

    private DynamoBilling() {
    }

    /** One item written: per started KB of the larger of the old and the new item, at least one. */
    static double write(long oldBytes, long newBytes) {
        return Math.max(1, ceilDiv(Math.max(oldBytes, newBytes), WRITE_UNIT_BYTES));
    }

    /** One item written inside TransactWriteItems: twice {@link #write}. */
    static double transactionalWrite(long oldBytes, long newBytes) {
        return 2 * write(oldBytes, newBytes);
    }

    /** One item read by key (a missing item costs the minimum too). */
    static double read(long itemBytes, boolean consistent) {
        return Math.max(1, ceilDiv(itemBytes, READ_UNIT_BYTES)) * (consistent ? 1.0 : 0.5);
    }

    /** One Query page that read {@code bytes} of items in total. */
    static double query(long bytes, boolean consistent) {
        return Math.max(1, ceilDiv(bytes, READ_UNIT_BYTES)) * (consistent ? 1.0 : 0.5);
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }
}
