package io.cohortsync.local;

import io.cohortsync.testkit.CfnTemplate;
import io.cohortsync.testkit.LambdaRuntimeProcess;
import io.cohortsync.testkit.SamMakeBuild;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code LAMBDA_RUNTIME=ric make local}: the three functions' deployment packages, built as `sam build`
 * builds them (the Makefile's build targets in a copy of the repository; reused from target/sam-packages/
 * when an identical tree was built before, e.g. by `make test`), each run by the real Lambda runtime client
 * with the handler and the environment template.yaml gives it, as SnapStart runs it when the template
 * enables SnapStart (restore flow, container credentials).
 */
public record RuntimeClientPackages(CfnTemplate template, Map<String, Path> packages, Path logDir) {
    static final List<String> FUNCTIONS = List.of("WebhookFunction", "SenderFunction", "ReconcilerFunction");
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(5);

    /** Builds (or finds) the packages of the repository at {@code repo}; says what it does on {@code console}. */
    public static RuntimeClientPackages prepare(Path repo, PrintStream console) {
        long started = System.nanoTime();
        console.println("Runtime client: the sam-build packages (make build-WebhookFunction etc. in a copy of the"
                + " repository, as sam build runs them; reused while this tree is unchanged)");
        Map<String, Path> packages = new LinkedHashMap<>();
        boolean built = false;
        for (SamMakeBuild.Built b : SamMakeBuild.packages(repo, FUNCTIONS, repo.resolve("target/sam-packages"), BUILD_TIMEOUT)) {
            packages.put(b.functionId(), b.root());
            built |= !b.reused();
        }
        console.printf("Runtime client: packages %s in %.1f s%n", built ? "built" : "reused",
                (System.nanoTime() - started) / 1e9);
        return new RuntimeClientPackages(CfnTemplate.load(repo.resolve("template.yaml")), Map.copyOf(packages),
                repo.resolve("target/local-runtime"));
    }

    /**
     * The function {@code functionId} under the runtime client: the template's handler, memory and logging,
     * its environment resolved against this run's resources, then {@code local}'s variables (the local
     * stack's settings win, as they do in process), and the emulator's endpoint.
     */
    RuntimeClientFunction function(String functionId, Map<String, String> resources, String stackName,
                                   Map<String, String> local, int maxEnvironments) {
        Map<String, String> env = new HashMap<>(template.resolvedEnvironment(functionId, resources, stackName));
        env.putAll(local);
        String endpoint = System.getProperty("aws.endpointUrl", System.getenv("AWS_ENDPOINT_URL"));
        if (endpoint != null) {
            env.put("AWS_ENDPOINT_URL", endpoint);
        }
        LambdaRuntimeProcess.Spec spec = LambdaRuntimeProcess.Spec.fromTemplate(template, functionId,
                packages.get(functionId), env);
        var snapStart = template.functionProperty(functionId, "SnapStart");
        if (snapStart != null && "PublishedVersions".equals(snapStart.path("ApplyOn").asText())) {
            spec = spec.snapStart();
        }
        try {
            Files.createDirectories(logDir);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new RuntimeClientFunction(spec, maxEnvironments, logDir);
    }
}
