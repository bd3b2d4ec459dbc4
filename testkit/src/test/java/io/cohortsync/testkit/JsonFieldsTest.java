package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonFieldsTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void count_returnsTheValue_whenTheFieldIsAWholeNumber() throws Exception {
        JsonNode line = JSON.readTree("{\"failures\":0,\"sent\":3,\"lag\":2.0}");

        assertThat(JsonFields.count(line, "failures")).isZero();
        assertThat(JsonFields.count(line, "sent")).isEqualTo(3);
        assertThat(JsonFields.count(line, "lag")).isEqualTo(2);
    }

    @Test
    void count_fails_whenTheFieldIsMissingTextOrFractional() throws Exception {
        JsonNode line = JSON.readTree("{\"text\":\"0\",\"half\":0.5,\"none\":null}");

        assertThatThrownBy(() -> JsonFields.count(line, "failures")).isInstanceOf(AssertionError.class)
                .hasMessageContaining("\"failures\" is missing");
        assertThatThrownBy(() -> JsonFields.count(line, "text")).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> JsonFields.count(line, "none")).isInstanceOf(AssertionError.class);
        assertThatThrownBy(() -> JsonFields.count(line, "half")).isInstanceOf(AssertionError.class)
                .hasMessageContaining("not a whole number");
    }

    @Test
    void number_returnsTheValue_whenPresent_andFails_whenMissing() throws Exception {
        JsonNode line = JSON.readTree("{\"EndToEndLag\":12.5,\"BatchItemFailures\":0.0}");

        assertThat(JsonFields.number(line, "EndToEndLag")).isEqualTo(12.5);
        assertThat(JsonFields.number(line, "BatchItemFailures")).isZero();
        assertThatThrownBy(() -> JsonFields.number(line, "Missing")).isInstanceOf(AssertionError.class)
                .hasMessageContaining("\"Missing\" is missing");
    }
}
