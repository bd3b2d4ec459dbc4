package io.cohortsync.reliability.chaos;

import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.MotoServer;

import java.nio.file.Path;

/**
 * {@code make chaos SEED=… RUNS=…}: runs RUNS seeded schedules on a {@code moto_server} started here
 * (unless {@code AWS_ENDPOINT_URL} names an emulator), prints the table, and exits 1 if any promise was
 * broken (the seeds of failing schedules are printed; their function output is kept under
 * {@code reliability/target/chaos-failures/}). {@code --describe} prints what each schedule is made of
 * (cohorts, connections, a big cohort, an upgrade, lagging functions) without running anything.
 */
public final class ChaosMain {
    private ChaosMain() {
    }

    public static void main(String[] args) {
        long seed = 20261128L;
        int runs = 50;
        Path logs = Path.of("reliability", "target", "chaos-failures");
        boolean describe = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--seed" -> seed = Long.parseLong(args[++i].trim());
                case "--runs" -> runs = Integer.parseInt(args[++i].trim());
                case "--logs" -> logs = Path.of(args[++i]);
                case "--describe" -> describe = true;
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        if (describe) {
            // What each schedule of the run is made of, without running anything.
            for (int i = 0; i < runs; i++) {
                long s = Seeds.schedule(seed, i);
                System.out.printf("schedule %d (seed %d): %s%n", i, s, ChaosSchedule.params(s));
            }
            return;
        }
        MotoServer moto = null;
        String external = System.getenv("AWS_ENDPOINT_URL");
        if (external == null || external.isBlank()) {
            moto = MotoServer.start(Path.of("reliability", "target"));
            System.setProperty("aws.endpointUrl", moto.endpoint().toString());
        }
        boolean failed;
        try (OutputCapture capture = OutputCapture.start(false)) {
            capture.console().printf("cohort-sync chaos: seed %d, %d schedules%s%n", seed, runs,
                    moto != null ? " (moto_server " + moto.endpoint() + ")" : "");
            ChaosStats total = ChaosRun.run(seed, runs, capture.console(), capture, logs);
            ChaosRun.print(seed, runs, total, capture.console());
            failed = !total.violations().isEmpty();
        } finally {
            if (moto != null) {
                moto.close();
            }
        }
        System.exit(failed ? 1 : 0);
    }
}
