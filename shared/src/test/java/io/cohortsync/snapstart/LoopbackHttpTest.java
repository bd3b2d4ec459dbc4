package io.cohortsync.snapstart;

import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.net.Socket;
import java.net.URI;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Priming's loopback exchange: each HTTP stack answered once, and nothing left behind for the snapshot: no
 * listening socket, no responder thread, no JDK HTTP client selector thread.
 */
class LoopbackHttpTest {

    @Test
    void step_exchangesOncePerStack_andLeavesNoThreadOrSocket() {
        long selectorsBefore = liveThreads("HttpClient-");

        LoopbackHttp.step(true).body().run();

        assertThat(liveThreads("cohort-sync-priming-loopback")).as("responder threads").isZero();
        assertThat(liveThreads("HttpClient-")).as("JDK HTTP client threads").isLessThanOrEqualTo(selectorsBefore);
    }

    @Test
    void responder_answersEachExchange_andRefusesConnectionsOnceClosed() {
        URI uri;
        try (LoopbackHttp loopback = LoopbackHttp.start()) {
            uri = loopback.uri();
            assertThat(uri.getHost()).isIn("127.0.0.1", "0:0:0:0:0:0:0:1");
            loopback.sdkExchange();
            loopback.segmentExchange();
            loopback.sdkExchange();
            assertThat(loopback.answered()).isEqualTo(3);
        }
        assertThatThrownBy(() -> {
            try (Socket s = new Socket(uri.getHost(), uri.getPort())) {
                s.getOutputStream().write(1);
            }
        }).isInstanceOf(ConnectException.class);
    }

    @Test
    void exchangeAgainstAClosedResponder_fails_soThePrimerReportsIt() {
        LoopbackHttp loopback = LoopbackHttp.start();
        loopback.close();
        assertThatThrownBy(loopback::sdkExchange).isInstanceOf(RuntimeException.class);
        assertThatThrownBy(loopback::segmentExchange).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("Unreachable");
    }

    @Test
    void thePrimerRunsTheStep_andReportsItByName() {
        Priming priming = new Priming("test", () -> new Priming.Plan(List.of(LoopbackHttp.step(false)), null),
                new PrintStream(OutputStream.nullOutputStream()), Priming.LIMIT);
        Priming.Report report = priming.run();
        assertThat(report.ok()).isTrue();
        assertThat(report.ran()).containsExactly("network stack (loopback): SDK");
    }

    private static long liveThreads(String prefix) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.isAlive() && t.getName().startsWith(prefix)).count();
    }

}
