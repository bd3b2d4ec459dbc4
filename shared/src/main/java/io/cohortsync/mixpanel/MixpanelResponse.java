package io.cohortsync.mixpanel;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The envelope Mixpanel expects back: {@code {"action": …, "status": "success"}}, or on failure
 * {@code "status": "failure"} plus {@code "error": {"message": …, "code": <HTTP status>}}.
 */
public record MixpanelResponse(int statusCode, String action, String errorMessage) {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    public static MixpanelResponse success(String action) {
        return new MixpanelResponse(200, action, null);
    }

    public static MixpanelResponse failure(int statusCode, String action, String message) {
        return new MixpanelResponse(statusCode, action, message);
    }

    public boolean isSuccess() {
        return errorMessage == null;
    }

    public String toJson() {
        ObjectNode node = MAPPER.createObjectNode();
        if (action == null) {
            node.putNull("action");
        } else {
            node.put("action", action);
        }
        node.put("status", isSuccess() ? "success" : "failure");
        if (!isSuccess()) {
            ObjectNode error = node.putObject("error");
            error.put("message", errorMessage);
            error.put("code", statusCode);
        }
        return node.toString();
    }
}
