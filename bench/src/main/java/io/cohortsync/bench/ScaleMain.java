package io.cohortsync.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * {@code make bench-scale}: runs {@link ScaleBench} (nothing but this JVM: no emulator, no network),
 * writes {@code target/bench/scale.json} and {@code scale.md}, prints the Markdown, and exits 1 if a
 * promise broke (a member not announced exactly once, a wrong exit); a missed performance target is
 * reported in the table, like {@code make bench} does. It runs in a JVM with the functions' options from template.yaml (C1 only, as
 * deployed, so CPU figures are comparable) plus a heap large enough for the in-memory table of a
 * million-member cohort ({@code -Dscale.heap}, default 3g); this main starts one if it was not given them.
 * <p>Sizes: {@code -Dscale.sizes=10000,100000,1000000}, {@code -Dscale.renameUsers}, {@code -Dscale.passIds},
 * {@code -Dscale.exitShare}, {@code -Dscale.heapEvery}; {@code -Dscale.smoke=true} runs the smoke test's sizes.
 */
public final class ScaleMain {
    private ScaleMain() {
    }

    public static void main(String[] args) throws Exception {
        Path repo = Path.of(args.length > 0 ? args[0] : ".").toAbsolutePath().normalize();
        if (!Files.isRegularFile(repo.resolve("template.yaml"))) {
            throw new IllegalArgumentException(repo + " is not the repository root (no template.yaml)");
        }
        Template template = Template.load(repo);
        String heap = "-Xmx" + System.getProperty("scale.heap", "3g");
        List<String> wanted = new ArrayList<>(template.javaToolOptions());
        wanted.add(heap);
        if (!ManagementFactory.getRuntimeMXBean().getInputArguments().containsAll(wanted)) {
            System.exit(relaunch(wanted, repo));
        }
        Path out = repo.resolve("target/bench");
        ScaleBench.Settings settings = Boolean.getBoolean("scale.smoke") ? ScaleBench.Settings.smoke(out)
                : ScaleBench.Settings.standard(out);
        ScaleReport report = new ScaleReport(ScaleBench.run(settings));
        report.write(out);
        System.out.println();
        System.out.print(report.markdown());
        System.out.println();
        System.out.println("Written: " + repo.relativize(out.resolve("scale.json")) + ", "
                + repo.relativize(out.resolve("scale.md")));
        if (!report.promisesHeld()) {
            System.out.println("A promise broke (see the Targets table).");
            System.exit(1);
        }
        if (!report.allMet()) {
            System.out.println("Not every performance target was met (see the Targets table).");
        }
    }

    private static int relaunch(List<String> options, Path repo) throws Exception {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.addAll(options);
        for (String name : System.getProperties().stringPropertyNames()) {
            if (name.startsWith("scale.")) {
                command.add("-D" + name + "=" + System.getProperty(name));
            }
        }
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(ScaleMain.class.getName());
        command.add(repo.toString());
        return new ProcessBuilder(command).inheritIO().start().waitFor();
    }
}
