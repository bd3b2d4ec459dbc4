package io.cohortsync.webhook;

import io.cohortsync.mixpanel.MissingUserId;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WebhookConfigTest {

    @Test
    void fromEnvironment_readsMissingUserId_skipByDefault_andRefusesAnythingElse() {
        // given the required variables
        Map<String, String> env = new HashMap<>(Map.of("TABLE_NAME", "t", "DELTA_QUEUE_URL", "q",
                "RECONCILE_QUEUE_URL", "rq", "WEBHOOK_SECRET_ID", "s"));

        // when / then
        assertThat(WebhookConfig.fromEnvironment(env).missingUserId()).isEqualTo(MissingUserId.SKIP);
        env.put("MISSING_USER_ID", "anonymous");
        WebhookConfig anonymous = WebhookConfig.fromEnvironment(env);
        assertThat(anonymous.missingUserId()).isEqualTo(MissingUserId.ANONYMOUS);
        // the with-ers keep it
        assertThat(anonymous.withUserIdProperty("email").missingUserId()).isEqualTo(MissingUserId.ANONYMOUS);
        assertThat(anonymous.withRenameTraits(false).withExtraTraits(Map.of()).missingUserId())
                .isEqualTo(MissingUserId.ANONYMOUS);
        env.put("MISSING_USER_ID", "drop");
        assertThatThrownBy(() -> WebhookConfig.fromEnvironment(env)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("MISSING_USER_ID must be 'skip' or 'anonymous'");
    }
}
