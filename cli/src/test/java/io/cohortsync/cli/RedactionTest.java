package io.cohortsync.cli;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RedactionTest {
    private static final CohortRef COHORT = new CohortRef("2195193", "1457721");

    private static Delta delta(String distinctId, String userId) {
        return new Delta(COHORT, "Power users", distinctId, true, 1, Instant.parse("2026-11-28T11:00:00Z"),
                userId, null, null);
    }

    @Test
    void reason_keepsTheSendersOwnReasons_asTheyAre() {
        assertThat(Redaction.reason("Segment rejected the message: Segment answered 400 to this message alone",
                List.of(delta("u-1", null))))
                .isEqualTo("Segment rejected the message: Segment answered 400 to this message alone");
        assertThat(Redaction.reason("undecodable delta message: 'changes' must be an array", null))
                .isEqualTo("undecodable delta message: 'changes' must be an array");
    }

    @Test
    void reason_masksQuotedTextAndEmails_whenAnExceptionQuotesInput() {
        String shown = Redaction.reason("invalid delta message: Text '2026-13-45' could not be parsed;"
                + " \"alice@example.com\" bob@example.com", null);

        assertThat(shown).isEqualTo("invalid delta message: Text '…' could not be parsed; '…' <email>");
    }

    @Test
    void reason_masksTheMessagesOwnIds_asWholeTokensOnly() {
        List<Delta> deltas = List.of(delta("user-42", "crm-9001"), delta("7", null));

        String shown = Redaction.reason("bad userId crm-9001 for user-42 (version 17, 7 tries)", deltas);

        assertThat(shown).isEqualTo("bad userId <id> for <id> (version 17, <id> tries)");
    }

    @Test
    void reason_cutsLongReasons_andFoldsLines() {
        String shown = Redaction.reason("first line\n second line " + "x".repeat(500), null);

        assertThat(shown).startsWith("first line second line x").hasSize(Redaction.MAX_CHARS).endsWith("…");
    }
}
