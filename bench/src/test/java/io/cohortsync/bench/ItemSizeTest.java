package io.cohortsync.bench;

import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

class ItemSizeTest {

    @Test
    void of_countsNamesAndValues_forAMembershipItem() {
        // given pk "M#2195193#c1" (12), sk "a@b.co" (6), m true, v 3
        Map<String, AttributeValue> item = Map.of("pk", AttributeValue.fromS("M#2195193#c1"),
                "sk", AttributeValue.fromS("a@b.co"), "m", AttributeValue.fromBool(true), "v", AttributeValue.fromN("3"));

        // when / then: (2 + 12) + (2 + 6) + (1 + 1) + (1 + 2)
        assertThat(ItemSize.of(item)).isEqualTo(27);
    }

    @Test
    void number_isOneBytePerTwoSignificantDigitsPlusOne_withZerosTrimmed() {
        assertThat(ItemSize.number("1")).isEqualTo(2);
        assertThat(ItemSize.number("12")).isEqualTo(2);
        assertThat(ItemSize.number("123")).isEqualTo(3);
        assertThat(ItemSize.number("1000")).isEqualTo(2);
        assertThat(ItemSize.number("1795867340")).isEqualTo(6);
        assertThat(ItemSize.number("-0.0012")).isEqualTo(2);
    }

    @Test
    void value_sumsSetsAndAddsOverheadForListsAndMaps() {
        assertThat(ItemSize.value(AttributeValue.fromSs(List.of("ab", "cde")))).isEqualTo(5);
        assertThat(ItemSize.value(AttributeValue.fromL(List.of(AttributeValue.fromS("ab"), AttributeValue.fromBool(false)))))
                .isEqualTo(3 + (1 + 2) + (1 + 1));
        assertThat(ItemSize.value(AttributeValue.fromM(Map.of("k", AttributeValue.fromS("vv"))))).isEqualTo(3 + 1 + 1 + 2);
        assertThat(ItemSize.value(AttributeValue.fromS("é"))).isEqualTo(2);
    }
}
