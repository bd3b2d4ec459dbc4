package io.cohortsync.infra.probe;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import org.crac.Core;
import org.crac.Resource;

import java.util.Map;

/**
 * A handler that registers an org.crac {@link Resource} in its constructor, as SnapStart priming does,
 * and answers which of its hooks ran, in order. RuntimeClientIT packages it alone (with org.crac in lib/)
 * to show that the runtime client's restore flow reaches org.crac's hooks. Never in a function package.
 */
public final class CracProbeHandler implements RequestHandler<Map<String, Object>, String>, Resource {
    private final StringBuilder hooks = new StringBuilder();

    public CracProbeHandler() {
        Core.getGlobalContext().register(this);
    }

    @Override
    public synchronized void beforeCheckpoint(org.crac.Context<? extends Resource> context) {
        hooks.append("beforeCheckpoint;");
    }

    @Override
    public synchronized void afterRestore(org.crac.Context<? extends Resource> context) {
        hooks.append("afterRestore;");
    }

    @Override
    public synchronized String handleRequest(Map<String, Object> event, Context context) {
        return hooks.toString();
    }
}
