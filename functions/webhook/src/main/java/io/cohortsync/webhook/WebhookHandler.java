package io.cohortsync.webhook;

import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.mixpanel.MixpanelResponse;
import io.cohortsync.snapstart.Priming;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;

/**
 * API Gateway HTTP API (payload 2.0) → {@link WebhookService} → Mixpanel's response envelope.
 * Translation only: no rules and no SDK calls here.
 */
public final class WebhookHandler implements RequestHandler<APIGatewayV2HTTPEvent, APIGatewayV2HTTPResponse> {
    private final WebhookService service;
    /** Held here because Lambda's CRaC context holds resources weakly; null where nothing is snapshotted. */
    private final Priming priming;

    /**
     * Used by the Lambda runtime: real collaborators from the environment, built once per container, and
     * the SnapStart primer registered (it runs only if Lambda takes a snapshot; README "SnapStart").
     */
    public WebhookHandler() {
        this(System.getenv());
    }

    private WebhookHandler(Map<String, String> env) {
        this(WebhookFactory.fromEnvironment(env), Priming.register("webhook", () -> WebhookPriming.plan(env)));
    }

    WebhookHandler(WebhookService service) {
        this(service, null);
    }

    WebhookHandler(WebhookService service, Priming priming) {
        this.service = service;
        this.priming = priming;
    }

    /** The registered SnapStart primer (null for handlers the runtime did not construct). */
    public Priming priming() {
        return priming;
    }

    /**
     * A handler around the given service, for tools that drive the real handler with their own adapters
     * (wire one with the public {@link WebhookFactory#create}).
     */
    public static WebhookHandler of(WebhookService service) {
        return new WebhookHandler(service);
    }

    /** A handler configured from the given variables instead of the process environment (the local stack). */
    public static WebhookHandler forEnvironment(Map<String, String> env) {
        return new WebhookHandler(env);
    }

    @Override
    public APIGatewayV2HTTPResponse handleRequest(APIGatewayV2HTTPEvent event, Context context) {
        String requestId = context != null ? context.getAwsRequestId()
                : event.getRequestContext() != null ? event.getRequestContext().getRequestId() : "unknown";
        String authorization = header(event.getHeaders(), "authorization");
        if (isStatusRequest(event)) {
            StatusResponse status = service.status(authorization,
                    event.getQueryStringParameters() == null ? Map.of() : event.getQueryStringParameters());
            return json(status.statusCode(), status.body());
        }
        MixpanelResponse response = service.handle(new WebhookRequest(authorization, body(event), requestId,
                connection(event.getRawPath())));
        return json(response.statusCode(), response.toJson());
    }

    /** {@code /mixpanel} → the default connection; {@code /mixpanel/<name>} → {@code <name>} (checked by the service). */
    static String connection(String rawPath) {
        if (rawPath == null) {
            return CohortRef.DEFAULT_CONNECTION;
        }
        String path = rawPath.endsWith("/") ? rawPath.substring(0, rawPath.length() - 1) : rawPath;
        int slash = path.lastIndexOf('/');
        String last = path.substring(slash + 1);
        return slash <= 0 || "mixpanel".equals(last) ? CohortRef.DEFAULT_CONNECTION
                : URLDecoder.decode(last, StandardCharsets.UTF_8);
    }

    private static boolean isStatusRequest(APIGatewayV2HTTPEvent event) {
        var http = event.getRequestContext() == null ? null : event.getRequestContext().getHttp();
        String method = http == null ? null : http.getMethod();
        String path = event.getRawPath();
        return "GET".equalsIgnoreCase(method) && path != null && path.endsWith("/status");
    }

    private static APIGatewayV2HTTPResponse json(int status, String body) {
        return APIGatewayV2HTTPResponse.builder()
                .withStatusCode(status)
                .withHeaders(Map.of("content-type", "application/json"))
                .withBody(body)
                .build();
    }

    private static byte[] body(APIGatewayV2HTTPEvent event) {
        String body = event.getBody();
        if (body == null) {
            return new byte[0];
        }
        if (event.getIsBase64Encoded()) {
            try {
                return Base64.getDecoder().decode(body);
            } catch (IllegalArgumentException e) {
                return new byte[0]; // not base64 after all: the parser answers "empty body" (400)
            }
        }
        return body.getBytes(StandardCharsets.UTF_8);
    }

    /** HTTP API lower-cases header names; other front doors may not. */
    private static String header(Map<String, String> headers, String name) {
        if (headers == null) {
            return null;
        }
        for (Map.Entry<String, String> e : headers.entrySet()) {
            if (e.getKey() != null && e.getKey().equalsIgnoreCase(name)) {
                return e.getValue();
            }
        }
        return null;
    }
}
