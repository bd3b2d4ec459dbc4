package io.cohortsync.bench;

import java.util.List;

/**
 * One function's cold-start figures, each median and ratio computed once from its launches
 * ({@link Benchmark.ColdStartResult} recomputes them on every call), for {@link Report} to render in
 * results.json and results.md alike. The launches themselves are kept for the per-run detail.
 */
record ColdStartFigures(String function, ColdStart.Package pkg, List<ColdStart.Launch> launches,
                        List<ColdStart.Launch> primedLaunches, List<ColdStart.Launch> emptyLaunches,
                        List<ColdStart.Launch> bareSdkLaunches, double firstResponseMs, double emptyFirstResponseMs,
                        double bareSdkFirstResponseMs, double ratio, double bareSdkRatio, double fastest,
                        double emptyFastest, double bareSdkFastest, double runtimeStartMs, double initMs,
                        double firstInvokeMs, double bareSdkInitMs, double bareSdkFirstInvokeMs,
                        double emptyFirstInvokeMs, double firstRequestMs, double primedFirstRequestMs,
                        double warmRequestMs, double primedToWarm, double primingMs) {

    static ColdStartFigures of(Benchmark.ColdStartResult c) {
        return new ColdStartFigures(c.function(), c.pkg(), c.launches(), c.primedLaunches(), c.emptyLaunches(),
                c.bareSdkLaunches(), c.firstResponseMs(),
                c.emptyFirstResponseMs(), c.bareSdkFirstResponseMs(), c.ratio(), c.bareSdkRatio(), c.fastest(),
                c.emptyFastest(), c.bareSdkFastest(), c.runtimeStartMs(), c.initMs(), c.firstInvokeMs(),
                c.bareSdkInitMs(), c.bareSdkFirstInvokeMs(), c.emptyFirstInvokeMs(), c.firstRequestMs(),
                c.primedFirstRequestMs(), c.warmRequestMs(), c.primedToWarm(), c.primingMs());
    }

    static List<ColdStartFigures> of(List<Benchmark.ColdStartResult> results) {
        return results.stream().map(ColdStartFigures::of).toList();
    }
}
