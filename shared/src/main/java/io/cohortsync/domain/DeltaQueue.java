package io.cohortsync.domain;

import java.util.List;

/** Port: announces deltas to the sender. Returns only once every delta is durably queued. */
public interface DeltaQueue {
    void enqueue(List<Delta> deltas);
}
