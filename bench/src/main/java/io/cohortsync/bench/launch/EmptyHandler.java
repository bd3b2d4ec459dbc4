package io.cohortsync.bench.launch;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

import java.util.Map;

/**
 * The baseline of a cold start: a handler that does nothing, in a package of this one class, started by
 * the same runtime client as the real ones. Its init is the runtime's own start (JVM and runtime client).
 */
public final class EmptyHandler implements RequestHandler<Map<String, Object>, String> {
    @Override
    public String handleRequest(Map<String, Object> event, Context context) {
        return "ok";
    }
}
