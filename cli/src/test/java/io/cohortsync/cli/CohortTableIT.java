package io.cohortsync.cli;

import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.MotoExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.IntStream;

import static io.cohortsync.cli.Seed.POWER;
import static org.assertj.core.api.Assertions.assertThat;

/** How the CLI reads membership on moto: every shard partition, page by page, never the old single key. */
@ExtendWith(MotoExtension.class)
class CohortTableIT {

    @Test
    void forEachPage_readsEveryShard_pageByPage(AwsStack stack) {
        // given 60 members (every shard holds some) and 5 who left
        List<String> users = IntStream.range(0, 65).mapToObj(i -> "user" + i + "@example.com").toList();
        users.subList(0, 60).forEach(u -> Seed.history(stack, POWER, u, null, true));
        users.subList(60, 65).forEach(u -> Seed.history(stack, POWER, u, null, true, false));
        assertThat(users.subList(0, 60).stream().map(Shards::of).distinct()).hasSize(Shards.COUNT);
        CohortTable table = new CohortTable(stack.dynamo, stack.tableName, Clock.systemUTC(), 2);

        // when
        List<Map<String, Membership>> pages = new ArrayList<>();
        table.forEachPage(POWER, false, pages::add);
        List<Map<String, Membership>> withExits = new ArrayList<>();
        table.forEachPage(POWER, true, withExits::add);

        // then members only, each once, in pages of at most 2; with exits, everyone with their state
        Set<String> seen = new HashSet<>();
        pages.forEach(p -> {
            assertThat(p).hasSizeLessThanOrEqualTo(2);
            p.forEach((id, m) -> {
                assertThat(m.member()).isTrue();
                assertThat(seen.add(id)).as(id + " read twice").isTrue();
            });
        });
        assertThat(seen).containsExactlyInAnyOrderElementsOf(users.subList(0, 60));
        Map<String, Membership> everyone = new HashMap<>();
        withExits.forEach(everyone::putAll);
        assertThat(everyone).hasSize(65);
        users.subList(60, 65).forEach(u -> assertThat(everyone.get(u)).isEqualTo(new Membership(false, 2)));
    }

    @Test
    void cohortIds_findsCohortsInShards_andInTheOldLayout(AwsStack stack) {
        // given a sharded cohort, a cohort of another project, and one still in the old single partition
        Seed.history(stack, POWER, "alice@example.com", null, true);
        Seed.history(stack, Seed.OTHER_PROJECT, "frank@example.com", null, true);
        CohortRef legacy = new CohortRef(POWER.projectId(), "a#b");
        Seed.legacyMember(stack, legacy, "gina@example.com");
        CohortTable table = new CohortTable(stack.dynamo, stack.tableName, Clock.systemUTC());

        // when
        List<String> ids = table.cohortIds(POWER.projectId());

        // then
        assertThat(ids).containsExactly(POWER.cohortId(), "a#b");
        assertThat(table.hasLegacyState(legacy)).isTrue();
        assertThat(table.hasLegacyState(POWER)).isFalse();
        // and the old partition's member is not read as a member of the cohort's shards
        List<Map<String, Membership>> pages = new ArrayList<>();
        table.forEachPage(legacy, true, pages::add);
        assertThat(pages).isEmpty();
        assertThat(stack.dynamo.scan(b -> b.tableName(stack.tableName)).items())
                .anySatisfy(item -> assertThat(item.get("sk")).isEqualTo(AttributeValue.fromS("gina@example.com")));
    }
}
