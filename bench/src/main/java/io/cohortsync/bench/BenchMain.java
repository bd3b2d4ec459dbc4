package io.cohortsync.bench;

import io.cohortsync.testkit.MotoServer;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code make bench}: starts a {@code moto_server} (unless {@code AWS_ENDPOINT_URL} names an emulator),
 * runs {@link Benchmark}, writes {@code target/bench/results.json} and {@code results.md}, and prints
 * the Markdown. The handlers run in a JVM with the functions' options from template.yaml (this main
 * starts one if it was not given them), because their CPU time is part of the measurement.
 * <p>Sizes can be changed with {@code -Dbench.incrementalPages}, {@code -Dbench.fullSyncUsers},
 * {@code -Dbench.coldStartRuns}, {@code -Dbench.coldStartRequests}, {@code -Dbench.commitConcurrency};
 * {@code -Dbench.only=segment} runs the incremental workload alone and prints Segment messages per request
 * ({@code -Dbench.segmentCalls=identify,track} for track events too);
 * {@code -Dbench.scale=smoke} runs the smoke test's sizes; {@code -Dbench.only=cold-start} builds the packages and
 * runs their cold starts only (the first request without and after SnapStart priming, and warm ones).
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static void main(String[] args) throws Exception {
        Path repo = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        if (!Files.isRegularFile(repo.resolve("template.yaml"))) {
            throw new IllegalArgumentException(repo + " is not the repository root (no template.yaml)");
        }
        Template template = Template.load(repo);
        if (!ManagementFactory.getRuntimeMXBean().getInputArguments().containsAll(template.javaToolOptions())) {
            System.exit(relaunch(template, repo));
        }
        Path out = repo.resolve("target/bench");
        MotoServer moto = null;
        String external = System.getenv("AWS_ENDPOINT_URL");
        if (external == null || external.isBlank()) {
            moto = MotoServer.start(out);
            System.setProperty("aws.endpointUrl", moto.endpoint().toString());
        }
        try {
            Benchmark.Settings settings = "smoke".equals(System.getProperty("bench.scale"))
                    ? Benchmark.Settings.smoke(repo, out) : Benchmark.Settings.standard(repo, out);
            if ("segment".equals(System.getProperty("bench.only"))) {
                // The incremental workload alone: Segment messages per /v1/batch request (-Dbench.segmentCalls).
                Phase.SegmentStats seg = Benchmark.segmentOnly(settings).segment();
                System.out.printf("%nSEGMENT_CALLS=%s: %d messages in %d Segment requests: %.1f per request, %.1f per "
                                + "full request (%d full), largest %d, mean message %.1f bytes, capacity %d per request%n",
                        System.getProperty("bench.segmentCalls", "identify"), seg.identifies(), seg.requests(),
                        seg.identifiesPerRequest(), seg.identifiesPerFullRequest(), seg.fullRequests(),
                        seg.maxPerRequest(), seg.meanMessageBytes(), seg.capacityPerRequest());
                return;
            }
            if ("cold-start".equals(System.getProperty("bench.only"))) {
                // The packages' cold starts alone (first request without and after priming, warm): minutes, not 20.
                System.out.println();
                System.out.print(Report.coldStartMarkdown(Benchmark.coldStartsOnly(settings)));
                return;
            }
            Benchmark.Results results = Benchmark.run(settings);
            Report report = new Report(results);
            report.write(out);
            System.out.println();
            System.out.print(report.markdown());
            System.out.println();
            System.out.println("Written: " + repo.relativize(out.resolve("results.json")) + ", "
                    + repo.relativize(out.resolve("results.md")));
        } finally {
            if (moto != null) {
                moto.close();
            }
        }
    }

    /** This main again, in a JVM with the template's options and this JVM's system properties. */
    private static int relaunch(Template template, Path repo) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(template.javaToolOptions());
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("bench.")) {
                command.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(BenchMain.class.getName());
        command.add(repo.toString());
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
