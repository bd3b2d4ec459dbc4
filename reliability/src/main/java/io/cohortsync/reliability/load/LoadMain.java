package io.cohortsync.reliability.load;

import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.MotoServer;

import java.nio.file.Path;

/**
 * {@code make load}: {@link LoadRun} with {@link LoadRun.Options#FULL} on a {@code moto_server} started
 * here (unless {@code AWS_ENDPOINT_URL} names an emulator); prints the figures and exits 1 on any problem.
 */
public final class LoadMain {
    private LoadMain() {
    }

    public static void main(String[] args) throws Exception {
        LoadRun.Options options = LoadRun.Options.FULL;
        if (args.length == 3) {
            options = new LoadRun.Options(Integer.parseInt(args[0]), Integer.parseInt(args[1]),
                    Integer.parseInt(args[2]), options.clientTimeout(), options.maxAttempts(), options.drainTimeout());
        }
        MotoServer moto = null;
        String external = System.getenv("AWS_ENDPOINT_URL");
        if (external == null || external.isBlank()) {
            moto = MotoServer.start(Path.of("reliability", "target"));
            System.setProperty("aws.endpointUrl", moto.endpoint().toString());
        }
        LoadRun.Result result;
        try (OutputCapture capture = OutputCapture.start(false)) {
            capture.console().printf("cohort-sync load: %d full syncs of %d pages x %d users, every page sent twice, all at once%n",
                    options.cohorts(), options.pagesPerCohort(), options.usersPerPage());
            result = LoadRun.run(options, capture);
            result.print(capture.console());
        } finally {
            if (moto != null) {
                moto.close();
            }
        }
        System.exit(result.problems().isEmpty() ? 0 : 1);
    }
}
