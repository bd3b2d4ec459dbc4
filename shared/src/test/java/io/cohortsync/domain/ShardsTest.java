package io.cohortsync.domain;

import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;

class ShardsTest {
    @Test
    void of_isStableAcrossReleases_forKnownIds() {
        // The shard is part of every stored key: these values must never change (FNV-1a 32, mod 16).
        assertThat(Shards.of("")).isEqualTo(Integer.remainderUnsigned(0x811c9dc5, 16));
        assertThat(Shards.of("a")).isEqualTo(Integer.remainderUnsigned(0xe40c292c, 16));
        assertThat(Shards.of("foobar")).isEqualTo(Integer.remainderUnsigned(0xbf9cf968, 16));
    }

    @Test
    void of_spreadsIdsEvenly_over100kEmailLikeIds() {
        int[] counts = new int[Shards.COUNT];
        IntStream.range(0, 100_000).forEach(i -> counts[Shards.of("user" + i + "@example.com")]++);
        assertThat(Arrays.stream(counts).min().orElseThrow()).isGreaterThan(100_000 / Shards.COUNT * 9 / 10);
        assertThat(Arrays.stream(counts).max().orElseThrow()).isLessThan(100_000 / Shards.COUNT * 11 / 10);
    }

    @Test
    void compareKeys_ordersLikeUtf8Bytes_whereStringCompareToDoesNot() {
        // given a character beyond U+FFFF (a surrogate pair in UTF-16) and one just below U+FFFF
        String emoji = "😀";
        String high = "\uFF5E";
        // then: String.compareTo puts the surrogate first, DynamoDB (UTF-8 bytes) puts it last
        assertThat(emoji.compareTo(high)).isNegative();
        assertThat(Shards.compareKeys(emoji, high)).isPositive();
        List<String> ids = List.of("b", "a", emoji, high, "ab", "");
        List<String> byBytes = ids.stream().sorted((x, y) -> Arrays.compareUnsigned(x.getBytes(StandardCharsets.UTF_8),
                y.getBytes(StandardCharsets.UTF_8))).toList();
        assertThat(ids.stream().sorted(Shards::compareKeys).toList()).isEqualTo(byBytes);
    }
}
