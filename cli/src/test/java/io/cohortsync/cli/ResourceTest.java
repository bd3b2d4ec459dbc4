package io.cohortsync.cli;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;

/** The names the tool relies on are the ones the template and `make local` really use. */
class ResourceTest {
    /** Tests run in the module directory; the repository root is its parent. */
    private static final Path ROOT = Path.of("..");

    @Test
    void stackOutput_isDeclaredByTheTemplate_forEveryResource() throws IOException {
        String template = Files.readString(ROOT.resolve("template.yaml"));
        String outputs = template.substring(template.indexOf("\nOutputs:"));

        for (Resource r : Resource.values()) {
            assertThat(outputs).as(r.stackOutput).contains("\n  " + r.stackOutput + ":");
        }
    }

    @Test
    void localName_isWhatMakeLocalCreates_forEveryResource() throws IOException {
        // LocalMain passes the prefix; LocalPipeline appends -state, -deltas and -reconcile, Infrastructure -dlq
        // to each queue's name.
        String main = Files.readString(ROOT.resolve("local/src/main/java/io/cohortsync/local/LocalMain.java"));
        String pipeline = Files.readString(ROOT.resolve("local/src/main/java/io/cohortsync/local/LocalPipeline.java"));

        assertThat(main).contains("\"cohort-sync-local\"");
        assertThat(pipeline).contains("prefix + \"-state\"", "prefix + \"-deltas\"", "prefix + \"-reconcile\"");
        assertThat(Resource.TABLE.localName).isEqualTo("cohort-sync-local" + "-state");
        assertThat(Resource.DELTA_QUEUE.localName).isEqualTo("cohort-sync-local" + "-deltas");
        assertThat(Resource.DEAD_LETTER_QUEUE.localName).isEqualTo(Resource.DELTA_QUEUE.localName + "-dlq");
        assertThat(Resource.RECONCILE_QUEUE.localName).isEqualTo("cohort-sync-local" + "-reconcile");
        assertThat(Resource.RECONCILE_DEAD_LETTER_QUEUE.localName).isEqualTo(Resource.RECONCILE_QUEUE.localName + "-dlq");
    }
}
