package io.cohortsync.bench.launch;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;

/** The baseline of a cold start: a handler that does nothing, started exactly like the real ones. */
public final class EmptyHandler implements RequestHandler<Object, Object> {
    @Override
    public Object handleRequest(Object event, Context context) {
        return null;
    }
}
