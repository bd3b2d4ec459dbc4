package io.cohortsync.bench;

import java.util.List;

/**
 * The headline figures of a benchmark run, each computed once, for {@link Report} to render in
 * results.json and results.md alike (so the two cannot disagree). Costs are dollars per million
 * changes of the incremental workload unless named otherwise; {@code ...ToFloor} is that over the floor.
 *
 * @param liveCpuPerMillion      with Lambda CPU as measured live on moto instead of the CPU probe's
 * @param measuredWallPerMillion with Lambda billed at the wall time measured on moto (an upper bound)
 * @param noopRatio              the no-op re-sync's cost over the cost of writing every member once
 * @param reconcilerShares       the reconciler's part of each workload's cost: incremental, no-op, exits
 * @param cpuPerPage             our CPU per 1,000-member change page, warm, in-memory ports (ms)
 * @param coldStarts             per function, in {@link Benchmark#FUNCTIONS} order
 */
record Figures(double costPerMillion, double floorPerMillion, double naivePerMillion, double liveCpuPerMillion,
               double measuredWallPerMillion, double costToFloor, double naiveToFloor, double liveCpuToFloor,
               double measuredWallToFloor, double noopRatio, double identifiesPerRequest,
               double identifiesPerFullRequest, int capacityPerRequest, double meanIdentifyBytes,
               double changesPerSecond, double pageP50Ms, double pageP99Ms, double modeledPageP50Ms,
               double modeledPageP99Ms, double cpuStretch, double senderMsPer1000, double cpuPerPage,
               double cpuNoopPage, double cpuFullSyncPage, double cpuSender1000, double cpuChangePageWithSdk,
               double cpuFullSyncPageWithSdk, double cpuSender1000WithSdk, List<Double> reconcilerShares,
               boolean incrementalPerPageCountsIdentical, String extrapolation, List<ColdStartFigures> coldStarts) {

    double exitsReconcilerShare() {
        return reconcilerShares.get(2);
    }

    ColdStartFigures coldStart(String functionId) {
        return coldStarts.stream().filter(c -> c.function().equals(functionId)).findFirst().orElseThrow();
    }
}
