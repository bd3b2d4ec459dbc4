package io.cohortsync.domain;

/**
 * A dependency (DynamoDB, SQS, Secrets Manager) failed in a way that may pass: throttling, an outage,
 * a timeout, a lost race. Always retryable (HTTP 503 to Mixpanel, a batch item failure on SQS).
 */
public class DependencyUnavailableException extends RuntimeException {
    private final String dependency;

    public DependencyUnavailableException(String dependency, String message, Throwable cause) {
        super(dependency + ": " + message, cause);
        this.dependency = dependency;
    }

    public String dependency() {
        return dependency;
    }
}
