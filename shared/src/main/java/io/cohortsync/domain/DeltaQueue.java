package io.cohortsync.domain;

import java.util.List;

/** Port: announces deltas to the sender. Returns only once every delta is durably queued. */
public interface DeltaQueue {
    /**
     * The largest body of one delta message, in bytes: SQS's 256 KiB message limit with room for the
     * batch envelope. Whoever encodes deltas for the queue ({@link DeltaCodec#encode}) packs to this.
     */
    int MAX_MESSAGE_BYTES = 250_000;

    void enqueue(List<Delta> deltas);
}
