package io.cohortsync.domain;

/**
 * Port: reads a secret's current string value.
 *
 * @throws DependencyUnavailableException when it cannot be read (retryable: never a reason to 401)
 */
public interface SecretSource {
    String read(String secretId);
}
