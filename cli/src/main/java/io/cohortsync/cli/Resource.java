package io.cohortsync.cli;

/** A resource of the stack a command works on: its explicit flag and the stack output that names it. */
enum Resource {
    TABLE("--table", "NAME", "StateTableName", "the state table", "cohort-sync-local-state"),
    DELTA_QUEUE("--queue-url", "URL", "DeltaQueueUrl", "the delta queue", "cohort-sync-local-deltas"),
    DEAD_LETTER_QUEUE("--dlq-url", "URL", "DeadLetterQueueUrl", "the dead-letter queue", "cohort-sync-local-deltas-dlq"),
    RECONCILE_QUEUE("--reconcile-queue-url", "URL", "ReconcileQueueUrl", "the reconcile queue", "cohort-sync-local-reconcile"),
    RECONCILE_DEAD_LETTER_QUEUE("--reconcile-dlq-url", "URL", "ReconcileDlqUrl", "the reconcile dead-letter queue",
            "cohort-sync-local-reconcile-dlq");

    final String flag;
    /** What the flag's value is, in help: NAME or URL. */
    final String paramLabel;
    final String stackOutput;
    final String description;
    /** The name `make local` gives it (LocalPipeline: prefix {@code cohort-sync-local}). */
    final String localName;

    Resource(String flag, String paramLabel, String stackOutput, String description, String localName) {
        this.flag = flag;
        this.paramLabel = paramLabel;
        this.stackOutput = stackOutput;
        this.description = description;
        this.localName = localName;
    }
}
