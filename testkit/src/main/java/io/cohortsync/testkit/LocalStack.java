package io.cohortsync.testkit;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.localstack.LocalStackContainer;
import org.testcontainers.utility.DockerImageName;

import java.net.URI;

/**
 * {@link Emulator#LOCALSTACK}: LocalStack with the three services the functions use, in a container Testcontainers
 * starts (and its reaper removes if this JVM dies). The only class that names Testcontainers, so nothing loads it
 * unless LocalStack is chosen. Not run on the development machine, which has no Docker engine (README "Develop").
 */
final class LocalStack {
    private LocalStack() {
    }

    static boolean dockerAvailable() {
        return DockerClientFactory.instance().isDockerAvailable();
    }

    static Emulator.Running start(String image) {
        LocalStackContainer container = new LocalStackContainer(DockerImageName.parse(image)
                .asCompatibleSubstituteFor("localstack/localstack"))
                .withServices(LocalStackContainer.Service.DYNAMODB, LocalStackContainer.Service.SQS,
                        LocalStackContainer.Service.SECRETSMANAGER);
        container.start();
        URI endpoint = container.getEndpoint();
        return new Emulator.Running() {
            @Override
            public URI endpoint() {
                return endpoint;
            }

            @Override
            public String description() {
                return "LocalStack " + image + " started for this run";
            }

            @Override
            public void close() {
                container.stop();
            }
        };
    }
}
