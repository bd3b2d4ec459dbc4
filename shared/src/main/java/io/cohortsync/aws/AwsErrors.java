package io.cohortsync.aws;

import io.cohortsync.domain.DependencyUnavailableException;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.exception.SdkException;

/** Turns an SDK failure that survived the SDK's own retries into the domain's retryable error. */
final class AwsErrors {
    private AwsErrors() {
    }

    static DependencyUnavailableException unavailable(String dependency, String operation, SdkException e) {
        // The SDK message names the error code and request id, never item contents.
        String code = e instanceof AwsServiceException ase
                && ase.awsErrorDetails() != null ? ase.awsErrorDetails().errorCode() : e.getClass().getSimpleName();
        return new DependencyUnavailableException(dependency, operation + " failed (" + code + ")", e);
    }
}
