package io.cohortsync.sender;

import java.util.List;

/** The SQS message ids that did not complete and must come back (in record order). */
record SenderResult(List<String> failedMessageIds) {
    SenderResult {
        failedMessageIds = List.copyOf(failedMessageIds);
    }
}
