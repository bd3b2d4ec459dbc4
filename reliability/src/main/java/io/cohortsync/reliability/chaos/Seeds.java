package io.cohortsync.reliability.chaos;

import java.util.SplittableRandom;

/**
 * Independent random streams derived from one schedule seed: each decision (a request's faults, a
 * poll's misbehaviour, the next step) draws from a stream named by what it decides and its index, so
 * one decision drawing more or less never shifts any other: a seed replays the same schedule.
 */
public final class Seeds {
    private Seeds() {
    }

    public static SplittableRandom stream(long seed, String name, long... indices) {
        long h = mix(seed ^ 0x9E3779B97F4A7C15L);
        h = mix(h ^ name.hashCode());
        for (long i : indices) {
            h = mix(h ^ (i * 0xBF58476D1CE4E5B9L));
        }
        return new SplittableRandom(h);
    }

    /** The seed of schedule {@code index} of a run: schedule 0 of run seed S has seed S, so it replays alone. */
    public static long schedule(long runSeed, int index) {
        return index == 0 ? runSeed : mix(runSeed + index * 0x9E3779B97F4A7C15L) & Long.MAX_VALUE;
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
