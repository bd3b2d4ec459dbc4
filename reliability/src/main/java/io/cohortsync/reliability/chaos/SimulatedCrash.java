package io.cohortsync.reliability.chaos;

/**
 * The function's process dying at a chosen point: an {@link Error}, so neither handler's
 * {@code catch (RuntimeException)} turns it into an answer. It escapes the handler the way a killed
 * sandbox leaves no response: the API Gateway stand-in answers 500, the event-source driver treats the
 * whole batch as failed (nothing deleted).
 */
public final class SimulatedCrash extends Error {
    public SimulatedCrash(String where) {
        super("simulated crash " + where, null, false, false);
    }
}
