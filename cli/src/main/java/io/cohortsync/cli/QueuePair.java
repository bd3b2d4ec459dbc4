package io.cohortsync.cli;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaCodec;
import io.cohortsync.domain.MalformedDeltaException;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.ReconcileJobCodec;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A work queue and its dead-letter queue, as {@code rejected} and {@code replay} see them: the delta
 * queue (deltas for the sender, the default) or, with {@code --reconcile}, the reconcile queue (jobs
 * for the reconciler). Says what a message of the pair holds and how the reports name it.
 */
enum QueuePair {
    DELTAS(Resource.DELTA_QUEUE, Resource.DEAD_LETTER_QUEUE, "delta", "a delta message", "the sender"),
    RECONCILE(Resource.RECONCILE_QUEUE, Resource.RECONCILE_DEAD_LETTER_QUEUE, "job", "a reconcile job", "the reconciler");

    final Resource queue;
    final Resource deadLetterQueue;
    /** What one message carries, counted: "delta" (many a message) or "job" (one a message). */
    final String item;
    /** "a delta message": what an undecodable message is not. */
    final String message;
    /** Who consumes the queue. */
    final String consumer;

    QueuePair(Resource queue, Resource deadLetterQueue, String item, String message, String consumer) {
        this.queue = queue;
        this.deadLetterQueue = deadLetterQueue;
        this.item = item;
        this.message = message;
        this.consumer = consumer;
    }

    /** The queue's name in reports: "delta queue", "reconcile queue". */
    String queueName() {
        return queue.description.substring("the ".length());
    }

    /** The dead-letter queue's name in reports: "dead-letter queue", "reconcile dead-letter queue". */
    String deadLetterQueueName() {
        return deadLetterQueue.description.substring("the ".length());
    }

    /** What a body holds, or null when it is not one of this queue's messages. */
    Contents decode(String body) {
        try {
            if (this == DELTAS) {
                List<Delta> deltas = DeltaCodec.decode(body);
                Set<String> ids = new LinkedHashSet<>();
                for (Delta d : deltas) {
                    ids.add(d.distinctId());
                    if (d.userId() != null) {
                        ids.add(d.userId());
                    }
                }
                return new Contents(deltas.stream().map(Delta::cohort).toList(), ids, List.of());
            }
            ReconcileJob job = ReconcileJobCodec.decode(body);
            // A job carries no user data: nothing to mask in a reason.
            return new Contents(List.of(job.cohort()), Set.of(), List.of(job.kind().name()));
        } catch (MalformedDeltaException e) {
            return null;
        }
    }

    /**
     * What one message holds.
     *
     * @param cohorts one entry per item (delta or job), the cohort it is about
     * @param ids     distinct ids and user ids it carries, to be masked wherever a reason quotes them
     * @param kinds   one entry per job, its kind (EXIT_COUNT, RENAME, …); empty for deltas
     */
    record Contents(List<CohortRef> cohorts, Set<String> ids, List<String> kinds) {
        Contents {
            cohorts = List.copyOf(cohorts);
            ids = Set.copyOf(ids);
            kinds = List.copyOf(kinds);
        }
    }
}
