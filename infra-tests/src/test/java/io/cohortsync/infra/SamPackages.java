package io.cohortsync.infra;

import io.cohortsync.testkit.SamMakeBuild;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The three functions' packages as `sam build` makes them ({@code make build-<LogicalId>} in a copy of the
 * repository with ARTIFACTS_DIR set), built once for every test of this run that needs them (SamBuildIT
 * checks their layout, RuntimeClientIT runs them under the real runtime client), and reused from the
 * repository's target/sam-packages/ when an identical tree was built before (SamMakeBuild#packages).
 */
final class SamPackages {
    static final List<String> FUNCTIONS = List.of("WebhookFunction", "SenderFunction", "ReconcilerFunction");
    private static final Duration BUILD_TIMEOUT = Duration.ofMinutes(4);
    private static Map<String, SamMakeBuild.Built> built;

    private SamPackages() {
    }

    static synchronized SamMakeBuild.Built get(String functionId) {
        if (built == null) {
            Map<String, SamMakeBuild.Built> all = new LinkedHashMap<>();
            for (SamMakeBuild.Built b : SamMakeBuild.packages(Repo.ROOT, FUNCTIONS, Repo.path("target/sam-packages"),
                    BUILD_TIMEOUT)) {
                all.put(b.functionId(), b);
            }
            built = all;
        }
        SamMakeBuild.Built b = built.get(functionId);
        if (b == null) {
            throw new IllegalArgumentException("no package for " + functionId);
        }
        return b;
    }
}
