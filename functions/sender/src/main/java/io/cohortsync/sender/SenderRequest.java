package io.cohortsync.sender;

import io.cohortsync.send.QueuedRecord;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/** One invocation's records and how long the invocation may still run. */
record SenderRequest(List<QueuedRecord> records, Duration remainingTime) {
    SenderRequest {
        records = List.copyOf(records);
        Objects.requireNonNull(remainingTime, "remainingTime");
    }
}
