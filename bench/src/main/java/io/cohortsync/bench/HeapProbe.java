package io.cohortsync.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;

/**
 * The reconciler's heap, measured two ways while it runs (bench/README.md):
 * <ul>
 *   <li><b>live</b>: at every {@code every}-th chunk (right after its checkpoint was written, while the
 *       pass's session ids are held), a full GC ({@code System.gc()}) and then the heap in use, minus the
 *       same measure taken just before the reconcile started. The baseline is the in-memory table (which on
 *       AWS lives in DynamoDB, not in the function) and whatever else the bench holds; what is left is what
 *       the reconciler itself keeps alive. The time and CPU spent in these GCs are recorded and subtracted
 *       from the reconcile's figures.</li>
 *   <li><b>used</b>: a thread reads the heap in use every 5 ms, garbage included; its peak minus the same
 *       baseline. It depends on when the GC runs (young generation size, allocation rate), so it is
 *       reported, not judged.</li>
 * </ul>
 */
final class HeapProbe implements AutoCloseable {
    private static final MemoryMXBean MEMORY = ManagementFactory.getMemoryMXBean();
    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    private final int every;
    private final long baseline;
    private long chunks;
    private boolean sampleNext;
    private long peakLive;
    private int samples;
    private long pausedNanos;
    private long pausedCpuNanos;
    private volatile long peakUsed;
    private volatile boolean running = true;
    private final Thread sampler;

    /** Takes the baseline now (after a full GC) and starts the sampling thread. */
    HeapProbe(int every) {
        this.every = Math.max(1, every);
        System.gc();
        this.baseline = used();
        this.peakUsed = baseline;
        this.sampler = Thread.ofPlatform().daemon().name("heap-sampler").start(() -> {
            while (running) {
                long u = used();
                if (u > peakUsed) {
                    peakUsed = u;
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
    }

    /** A job starts: its first chunk is sampled, whatever the count. */
    void onJob() {
        sampleNext = true;
    }

    /** After each chunk's checkpoint: a live-heap sample every {@code every} chunks and after each job's first. */
    void onChunk() {
        if (chunks++ % every == 0 || sampleNext) {
            sampleNext = false;
            sample();
        }
    }

    /** A live-heap sample now. */
    void sample() {
        long t0 = System.nanoTime();
        long c0 = THREADS.getCurrentThreadCpuTime();
        System.gc();
        long live = used() - baseline;
        peakLive = Math.max(peakLive, live);
        samples++;
        pausedCpuNanos += THREADS.getCurrentThreadCpuTime() - c0;
        pausedNanos += System.nanoTime() - t0;
    }

    private static long used() {
        return MEMORY.getHeapMemoryUsage().getUsed();
    }

    long baselineBytes() {
        return baseline;
    }

    long peakLiveBytes() {
        return peakLive;
    }

    long peakUsedBytes() {
        return Math.max(0, peakUsed - baseline);
    }

    int samples() {
        return samples;
    }

    /** Wall time spent in this probe's GCs (subtracted from the reconcile's wall time). */
    long pausedNanos() {
        return pausedNanos;
    }

    /** CPU time the reconciler's thread spent in this probe's GCs (subtracted from its CPU time). */
    long pausedCpuNanos() {
        return pausedCpuNanos;
    }

    @Override
    public void close() {
        running = false;
        sampler.interrupt();
        try {
            sampler.join(1000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
