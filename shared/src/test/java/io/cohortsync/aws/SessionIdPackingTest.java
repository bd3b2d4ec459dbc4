package io.cohortsync.aws;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class SessionIdPackingTest {
    @Test
    void unpackIds_returnsExactlyWhatWasPacked_whateverCharactersTheIdsHold() {
        // given ids with separators, control characters, long ones, multi-byte characters and an empty one
        List<String> ids = List.of("ada@example.com", "a\nb", "tab\there", "x".repeat(1_000), "東京😀", "", "#%,");
        List<String> back = new ArrayList<>();

        DynamoSessionStore.unpackIds(DynamoSessionStore.packIds(ids), back::add);

        assertThat(back).isEqualTo(ids);
    }

    @Test
    void packIds_bringsAShardsShareOfA1000IdPage_underOneWriteUnit() {
        // given the ~62 ids one shard gets of a 1,000-id page, e-mail-like (about 30 bytes each, 1.9 KB raw)
        List<String> ids = IntStream.range(0, 62).mapToObj(i -> "first.last" + (i * 7919) + "@company-" + (i % 9) + ".com")
                .toList();
        int raw = ids.stream().mapToInt(id -> id.getBytes(StandardCharsets.UTF_8).length).sum();

        byte[] packed = DynamoSessionStore.packIds(ids);

        // then the piece costs one write unit (1 KB) instead of two
        assertThat(raw).isGreaterThan(1_024);
        assertThat(packed.length).isLessThan(900);
    }
}
