package io.cohortsync.aws;

import io.cohortsync.domain.DependencyUnavailableException;
import io.cohortsync.domain.SecretSource;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.secretsmanager.SecretsManagerClient;

/** {@link SecretSource} on Secrets Manager (current version of the secret). */
public final class SecretsManagerSource implements SecretSource {
    private final SecretsManagerClient client;

    public SecretsManagerSource(SecretsManagerClient client) {
        this.client = client;
    }

    @Override
    public String read(String secretId) {
        try {
            String value = client.getSecretValue(b -> b.secretId(secretId)).secretString();
            if (value == null) {
                throw new DependencyUnavailableException("SecretsManager",
                        "secret has no string value", null);
            }
            return value;
        } catch (SdkException e) {
            throw AwsErrors.unavailable("SecretsManager", "GetSecretValue", e);
        }
    }
}
