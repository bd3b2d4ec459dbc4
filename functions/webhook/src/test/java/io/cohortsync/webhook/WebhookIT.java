package io.cohortsync.webhook;

import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPEvent;
import com.amazonaws.services.lambda.runtime.events.APIGatewayV2HTTPResponse;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.aws.DynamoCohortNames;
import io.cohortsync.aws.DynamoMembershipStore;
import io.cohortsync.aws.DynamoSyncHistory;
import io.cohortsync.aws.DynamoSessionStore;
import io.cohortsync.aws.Keys;
import io.cohortsync.aws.SecretsManagerSource;
import io.cohortsync.aws.SqsDeltaQueue;
import io.cohortsync.domain.Change;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.Delta;
import io.cohortsync.domain.DeltaQueue;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.MembershipStore;
import io.cohortsync.testkit.Tee;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsRequestCounter;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Emf;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.MotoExtension;
import io.cohortsync.testkit.QueueReader;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/** The real webhook handler and adapters against moto over HTTP. */
@ExtendWith(MotoExtension.class)
class WebhookIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String NAME = "Power users (30d)";

    private AwsStack stack;
    private WebhookConfig config;
    private WebhookHandler handler;
    private PrintStream originalOut;
    private final ByteArrayOutputStream captured = new ByteArrayOutputStream();

    @BeforeEach
    void setUp(AwsStack stack) {
        this.stack = stack;
        this.config = WebhookConfig.fromEnvironment(stack.environment());
        // Capture everything the function logs (it logs to stdout) while still showing it.
        originalOut = System.out;
        System.setOut(new PrintStream(new Tee(originalOut, captured), true, StandardCharsets.UTF_8));
        handler = handler(Function.identity(), Function.identity());
        AwsRequestCounter.reset();
    }

    @AfterEach
    void logsCarryNoPiiOrSecrets() {
        System.setOut(originalOut);
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertThat(logs).as("logs").doesNotContain("@example.com", "@mail.example.org", "Firstname", "Lastname",
                "no-email", "pw-eu-123",
                "+1-555", "ada@", AwsStack.WEBHOOK_PASSWORD, "u-100");
        // every metric line is valid EMF, one per request
        for (String line : Emf.lines(logs)) {
            assertThat(Emf.validate(line)).isNotEmpty();
        }
        long requests = logs.lines().filter(l -> l.contains("\"message\":\"webhook handled\"")
                || l.contains("full sync held")).count();
        assertThat(Emf.lines(logs)).hasSize((int) requests);
    }

    private WebhookHandler handler(Function<MembershipStore, MembershipStore> wrapStore,
                                   Function<DeltaQueue, DeltaQueue> wrapQueue) {
        Clock clock = Clock.systemUTC();
        return new WebhookHandler(WebhookFactory.create(config,
                wrapStore.apply(new DynamoMembershipStore(stack.dynamo, config.tableName(), config.commitConcurrency())),
                wrapQueue.apply(new SqsDeltaQueue(stack.sqs, config.deltaQueueUrl())),
                new DynamoSessionStore(stack.dynamo, config.tableName(), config.sessionTtl(), clock),
                new DynamoCohortNames(stack.dynamo, config.tableName()),
                new DynamoSyncHistory(stack.dynamo, config.tableName(), config.historyTtl(), clock),
                new SecretsManagerSource(stack.secrets), clock));
    }

    private APIGatewayV2HTTPResponse post(String body) {
        return handler.handleRequest(ApiGatewayEvents.post(body), null);
    }

    private static void assertSuccess(APIGatewayV2HTTPResponse response, String action) {
        assertThat(response.getStatusCode()).as(response.getBody()).isEqualTo(200);
        assertThat(response.getHeaders()).containsEntry("content-type", "application/json");
        assertThat(response.getBody()).isEqualTo("{\"action\":\"" + action + "\",\"status\":\"success\"}");
    }

    private static JsonNode assertFailure(APIGatewayV2HTTPResponse response, int status) throws Exception {
        assertThat(response.getStatusCode()).as(response.getBody()).isEqualTo(status);
        JsonNode body = JSON.readTree(response.getBody());
        assertThat(body.path("status").asText()).isEqualTo("failure");
        assertThat(body.path("action").isTextual()).isTrue();
        assertThat(body.path("error").path("code").asInt()).isEqualTo(status);
        assertThat(body.path("error").path("message").asText()).isNotBlank();
        return body;
    }

    /** Every membership row of a cohort, read straight from the table. */
    private Map<String, Membership> table(String cohortId) {
        Map<String, Membership> rows = new HashMap<>();
        Map<String, AttributeValue> start = null;
        do {
            Map<String, AttributeValue> from = start;
            var page = stack.dynamo.query(q -> q.tableName(stack.tableName).consistentRead(true)
                    .keyConditionExpression("pk = :pk")
                    .expressionAttributeValues(Map.of(":pk", AttributeValue.fromS(
                            Keys.membershipPk(new CohortRef(Exports.PROJECT, cohortId)))))
                    .exclusiveStartKey(from));
            page.items().forEach(i -> rows.put(i.get("sk").s(),
                    new Membership(i.get("m").bool(), Long.parseLong(i.get("v").n()))));
            start = page.hasLastEvaluatedKey() && !page.lastEvaluatedKey().isEmpty() ? page.lastEvaluatedKey() : null;
        } while (start != null);
        return rows;
    }

    private int itemCount() {
        return stack.dynamo.scan(s -> s.tableName(stack.tableName)).count();
    }

    private List<Delta> drain() {
        return QueueReader.drainDeltas(stack.sqs, stack.queueUrl);
    }

    private static Set<String> members(Map<String, Membership> rows) {
        return rows.entrySet().stream().filter(e -> e.getValue().member()).map(Map.Entry::getKey)
                .collect(Collectors.toSet());
    }

    @Test
    void addMembers_queuesOneEnterPerNewUser_andAnswersSuccess() {
        // when
        var response = post(Exports.add("c1", NAME, Exports.users("a", 0, 3)));
        // then
        assertSuccess(response, "add_members");
        List<Delta> deltas = drain();
        assertThat(deltas).extracting(Delta::distinctId).containsExactlyInAnyOrderElementsOf(Exports.users("a", 0, 3));
        assertThat(deltas).allSatisfy(d -> {
            assertThat(d.member()).isTrue();
            assertThat(d.version()).isEqualTo(1);
            assertThat(d.cohortName()).isEqualTo(NAME);
            assertThat(d.cohort()).isEqualTo(new CohortRef(Exports.PROJECT, "c1"));
        });
        assertThat(table("c1")).containsOnlyKeys(Exports.users("a", 0, 3))
                .allSatisfy((id, m) -> assertThat(m).isEqualTo(new Membership(true, 1)));
    }

    @Test
    void replay_queuesAndWritesNothing_whenRequestRepeats() {
        String body = Exports.add("c1", NAME, Exports.users("a", 0, 50));
        post(body);
        drain();
        AwsRequestCounter.reset();
        // when Mixpanel retries the same request
        assertSuccess(post(body), "add_members");
        // then
        assertThat(drain()).isEmpty();
        assertThat(AwsRequestCounter.count("DynamoDb.PutItem")).isZero();
        assertThat(AwsRequestCounter.count("Sqs.SendMessageBatch")).isZero();
    }

    @Test
    void removeMembers_exitsOnlyCurrentMembers() {
        post(Exports.add("c1", NAME, Exports.users("a", 0, 3)));
        drain();
        // when two members and a stranger are removed
        var response = post(Exports.remove("c1", NAME, List.of("a0@example.com", "a1@example.com", "zz@example.com")));
        // then
        assertSuccess(response, "remove_members");
        assertThat(drain()).extracting(Delta::distinctId, Delta::member, Delta::version)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("a0@example.com", false, 2L),
                        org.assertj.core.groups.Tuple.tuple("a1@example.com", false, 2L));
        assertThat(members(table("c1"))).containsExactly("a2@example.com");
        assertThat(table("c1")).doesNotContainKey("zz@example.com");
    }

    @Test
    void fullSync_queuesExactlyTheRealChanges_overPagesDiffsAndReplays() {
        // given a 3-page full sync of 2,500 users, every page retried once, then restarted from the top
        List<String> all = Exports.users("m", 0, 2500);
        List<String> pages = List.of(
                Exports.members("c9", NAME, "s-1", 1, 3, all.subList(0, 1000)),
                Exports.members("c9", NAME, "s-1", 2, 3, all.subList(1000, 2000)),
                Exports.members("c9", NAME, "s-1", 3, 3, all.subList(2000, 2500)));
        postEachTwice(pages);
        postEachTwice(pages);
        // then diffs, each retried: 100 enter, 200 leave, 50 of those come back
        List<String> newcomers = Exports.users("n", 0, 100);
        List<String> leavers = all.subList(0, 200);
        postEachTwice(List.of(Exports.add("c9", NAME, newcomers)));
        postEachTwice(List.of(Exports.remove("c9", NAME, leavers)));
        postEachTwice(List.of(Exports.add("c9", NAME, leavers.subList(0, 50))));
        // and a later full sync (a new session) that agrees with the state: nothing to do
        Set<String> expected = new HashSet<>(all);
        expected.addAll(newcomers);
        expected.removeAll(leavers.subList(50, 200));
        List<String> current = new ArrayList<>(expected);
        postEachTwice(List.of(
                Exports.members("c9", NAME, "s-2", 1, 3, current.subList(0, 1000)),
                Exports.members("c9", NAME, "s-2", 2, 3, current.subList(1000, 2000)),
                Exports.members("c9", NAME, "s-2", 3, 3, current.subList(2000, current.size()))));
        // then the queue holds exactly the real changes, once each
        List<Delta> deltas = drain();
        Map<String, List<String>> byUser = new LinkedHashMap<>();
        for (Delta d : deltas) {
            byUser.computeIfAbsent(d.distinctId(), k -> new ArrayList<>()).add(d.version() + ":" + d.member());
        }
        assertThat(deltas).hasSize(2500 + 100 + 200 + 50);
        assertThat(byUser.get(all.get(0))).containsExactly("1:true", "2:false", "3:true");
        assertThat(byUser.get(all.get(150))).containsExactly("1:true", "2:false");
        assertThat(byUser.get(all.get(2499))).containsExactly("1:true");
        assertThat(byUser.get(newcomers.get(99))).containsExactly("1:true");
        assertThat(members(table("c9"))).isEqualTo(expected);
    }

    /** Each request as Mixpanel retries it: sent, then sent again. */
    private void postEachTwice(List<String> requests) {
        for (String r : requests) {
            assertThat(post(r).getStatusCode()).isEqualTo(200);
            assertThat(post(r).getStatusCode()).isEqualTo(200);
        }
    }

    @Test
    void fullSync_exitsAbsentMembers_whenEveryPageArrived() {
        post(Exports.add("c2", NAME, Exports.users("u", 0, 10)));
        drain();
        // when a 2-page full sync mentions only users 0..5 (and one newcomer)
        assertSuccess(post(Exports.members("c2", NAME, "s-2", 1, 2, Exports.users("u", 0, 3))), "members");
        assertThat(drain()).isEmpty();
        assertSuccess(post(Exports.members("c2", NAME, "s-2", 2, 2, List.of("u3@example.com", "u4@example.com",
                "u5@example.com", "new@example.com"))), "members");
        // then users 6..9 exit and the newcomer enters
        List<Delta> deltas = drain();
        assertThat(deltas.stream().filter(d -> !d.member()).map(Delta::distinctId))
                .containsExactlyInAnyOrderElementsOf(Exports.users("u", 6, 4));
        assertThat(deltas.stream().filter(Delta::member).map(Delta::distinctId)).containsExactly("new@example.com");
        assertThat(members(table("c2"))).hasSize(7);
        // and replaying the last page changes nothing
        assertSuccess(post(Exports.members("c2", NAME, "s-2", 2, 2, List.of("u3@example.com"))), "members");
        assertThat(drain()).isEmpty();
    }

    @Test
    void fullSync_exitsNobody_whenSessionIsIncomplete() {
        post(Exports.add("c3", NAME, Exports.users("u", 0, 10)));
        drain();
        // when pages 1 and 3 of 3 arrive but page 2 never does
        assertSuccess(post(Exports.members("c3", NAME, "s-3", 1, 3, Exports.users("u", 0, 2))), "members");
        assertSuccess(post(Exports.members("c3", NAME, "s-3", 3, 3, Exports.users("u", 2, 2))), "members");
        // then nobody exits
        assertThat(drain()).isEmpty();
        assertThat(members(table("c3"))).hasSize(10);
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("\"session\":\"INCOMPLETE\"");
    }

    @Test
    void fullSync_exitsAll_whenOnePageExportIsEmptyForASmallCohort() {
        post(Exports.add("c4", NAME, Exports.users("u", 0, 5)));
        drain();
        assertSuccess(post(Exports.members("c4", NAME, null, 0, 0, List.of())), "members");
        assertThat(drain()).hasSize(5).allSatisfy(d -> assertThat(d.member()).isFalse());
    }

    @Test
    void fullSync_isHeld_whenItWouldExitMostOfALargeCohort() {
        // given a cohort of 1,200 members
        List<String> users = Exports.users("h", 0, 1200);
        post(Exports.add("c5", NAME, users.subList(0, 1000)));
        post(Exports.add("c5", NAME, users.subList(1000, 1200)));
        drain();
        // when a complete full sync lists only 100 of them
        var response = post(Exports.members("c5", NAME, "s-5", 1, 1, users.subList(0, 100)));
        // then it is answered (nothing for Mixpanel to retry) but nothing exits, and the operator is told
        assertSuccess(response, "members");
        assertThat(drain()).isEmpty();
        assertThat(members(table("c5"))).hasSize(1200);
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertThat(logs).contains("full sync held: too many exits").contains("\"sessionExits\":1100");
        // and a replay of the held session stays held
        post(Exports.members("c5", NAME, "s-5", 1, 1, users.subList(0, 100)));
        assertThat(drain()).isEmpty();
    }

    @Test
    void crashBetweenEnqueueAndCommit_losesNothing_whenMixpanelRetries() {
        // given a function that dies right after queueing, before committing
        AtomicBoolean crashed = new AtomicBoolean();
        handler = handler(real -> new MembershipStore() {
            public Map<String, Membership> read(CohortRef c, Collection<String> ids, boolean consistent) {
                return real.read(c, ids, consistent);
            }

            public Set<String> commit(CohortRef c, List<Change> changes) {
                if (crashed.compareAndSet(false, true)) {
                    throw new IllegalStateException("injected: function died before commit");
                }
                return real.commit(c, changes);
            }

            public Map<String, Membership> currentMembers(CohortRef c) {
                return real.currentMembers(c);
            }
        }, Function.identity());
        String body = Exports.add("c6", NAME, Exports.users("k", 0, 20));
        // when the first attempt dies
        var first = post(body);
        // then Mixpanel gets a retryable status, deltas are queued but nothing is committed
        assertThat(first.getStatusCode()).isGreaterThanOrEqualTo(500);
        assertThat(table("c6")).isEmpty();
        // when Mixpanel retries
        assertSuccess(post(body), "add_members");
        // then every change is committed, and the queue holds (twice) the very same deltas
        assertThat(table("c6")).hasSize(20).allSatisfy((id, m) -> assertThat(m).isEqualTo(new Membership(true, 1)));
        List<Delta> deltas = drain();
        assertThat(deltas).hasSize(40);
        assertThat(new HashSet<>(deltas.stream().map(d -> d.distinctId() + d.version() + d.member()).toList())).hasSize(20);
    }

    @Test
    void failedEnqueue_commitsNothing_andAnswers503() throws Exception {
        handler = handler(Function.identity(), real -> deltas -> {
            throw new io.cohortsync.domain.DependencyUnavailableException("SQS", "injected outage", null);
        });
        JsonNode body = assertFailure(post(Exports.add("c7", NAME, Exports.users("q", 0, 5))), 503);
        assertThat(body.path("action").asText()).isEqualTo("add_members");
        assertThat(table("c7")).isEmpty();
    }

    @Test
    void concurrentRequestsForTheSameUsers_leaveEveryCommittedStateQueued() throws Exception {
        // given two requests racing on the same 300 users: one adds, then both an add and a remove race
        List<String> users = Exports.users("r", 0, 300);
        String add = Exports.add("c8", NAME, users);
        String remove = Exports.remove("c8", NAME, users);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            List<Callable<Integer>> calls = List.of(() -> post(add).getStatusCode(), () -> post(add).getStatusCode());
            for (Future<Integer> f : pool.invokeAll(calls)) {
                assertThat(f.get()).isEqualTo(200);
            }
            List<Callable<Integer>> race = List.of(() -> post(remove).getStatusCode(), () -> post(add).getStatusCode(),
                    () -> post(remove).getStatusCode());
            for (Future<Integer> f : pool.invokeAll(race)) {
                assertThat(f.get()).isIn(200, 503);
            }
        } finally {
            pool.shutdownNow();
        }
        // then for every user the committed state was announced by some delta (the sender can send it)
        Map<String, Membership> rows = table("c8");
        Set<String> announced = drain().stream().map(d -> d.distinctId() + "|" + d.version() + "|" + d.member())
                .collect(Collectors.toSet());
        assertThat(rows).hasSize(300);
        rows.forEach((id, m) -> assertThat(announced).contains(id + "|" + m.version() + "|" + m.member()));
        // and each version was committed exactly once (no interleaving: versions are gapless)
        assertThat(rows.values()).allSatisfy(m -> assertThat(m.version()).isBetween(1L, 4L));
    }

    @Test
    void rename_reannouncesEveryMemberUnderTheNewName_once() {
        post(Exports.add("c11", "Old name", Exports.users("n", 0, 4)));
        post(Exports.remove("c11", "Old name", List.of("n3@example.com")));
        drain();
        // when Mixpanel sends the cohort under a new name
        assertSuccess(post(Exports.add("c11", "New name", List.of())), "add_members");
        // then the three current members are re-announced: new name, old name to clear, version bumped
        List<Delta> deltas = drain();
        assertThat(deltas).extracting(Delta::distinctId)
                .containsExactlyInAnyOrder("n0@example.com", "n1@example.com", "n2@example.com");
        assertThat(deltas).allSatisfy(d -> {
            assertThat(d.cohortName()).isEqualTo("New name");
            assertThat(d.previousName()).isEqualTo("Old name");
            assertThat(d.member()).isTrue();
            assertThat(d.version()).isEqualTo(2);
        });
        assertThat(table("c11").get("n0@example.com")).isEqualTo(new Membership(true, 2));
        // and the next call under the new name changes nothing
        assertSuccess(post(Exports.add("c11", "New name", List.of())), "add_members");
        assertThat(drain()).isEmpty();
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("\"renamed\":3");
    }

    @Test
    void identityMapping_sendsToTheMappedUserId_andExitsReachTheSameProfile() {
        config = config.withUserIdProperty("email");
        handler = handler(Function.identity(), Function.identity());
        // given members whose Segment id is their email property; one has none
        String body = Exports.add("c12", NAME, Exports.users("i", 0, 2))
                .replace("\"members\":[", "\"members\":[{\"mixpanel_distinct_id\":\"no-email\"},");
        assertSuccess(post(body), "add_members");
        List<Delta> enters = drain();
        assertThat(enters).extracting(Delta::distinctId, Delta::userId).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple("i0@example.com", "i0@mail.example.org"),
                org.assertj.core.groups.Tuple.tuple("i1@example.com", "i1@mail.example.org"));
        assertThat(captured.toString(StandardCharsets.UTF_8)).contains("\"MISSING_USER_ID\":1");
        // when a later full sync drops one of them (the exit pass knows only distinct ids)
        assertSuccess(post(Exports.members("c12", NAME, null, 1, 1, List.of("i0@example.com"))), "members");
        // then the exit goes to the user id the enter went to
        assertThat(drain()).singleElement().satisfies(d -> {
            assertThat(d.distinctId()).isEqualTo("i1@example.com");
            assertThat(d.member()).isFalse();
            assertThat(d.segmentUserId()).isEqualTo("i1@mail.example.org");
        });
    }

    @Test
    void status_listsTheCohortsRecentCalls_newestFirst_forTheWebhookCredentials() throws Exception {
        post(Exports.add("c13", NAME, Exports.users("h", 0, 3)));
        post(Exports.remove("c13", NAME, List.of("h0@example.com", "h9@example.com")));
        post(Exports.members("c13", NAME, "s-13", 1, 2, Exports.users("h", 1, 2)));
        // when an operator asks with the webhook's credentials
        APIGatewayV2HTTPResponse r = handler.handleRequest(statusEvent("project=" + Exports.PROJECT + "&cohort=c13",
                ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD)), null);
        // then
        assertThat(r.getStatusCode()).as(r.getBody()).isEqualTo(200);
        JsonNode history = JSON.readTree(r.getBody()).path("history");
        assertThat(history).hasSize(3);
        assertThat(history.get(0).path("action").asText()).isEqualTo("members");
        assertThat(history.get(0).path("session").asText()).isEqualTo("INCOMPLETE");
        assertThat(history.get(0).path("sessionId").asText()).isEqualTo("s-13");
        assertThat(history.get(1).path("action").asText()).isEqualTo("remove_members");
        assertThat(history.get(1).path("exits").asInt()).isEqualTo(1);
        assertThat(history.get(1).path("unchanged").asInt()).isEqualTo(1);
        assertThat(history.get(2).path("enters").asInt()).isEqualTo(3);
        assertThat(history.get(2).path("outcome").asText()).isEqualTo("success");
        assertThat(r.getBody()).doesNotContain("@example.com");
        // and it is refused without credentials or parameters
        assertThat(handler.handleRequest(statusEvent("project=1&cohort=c13", null), null).getStatusCode()).isEqualTo(401);
        assertThat(handler.handleRequest(statusEvent("cohort=c13",
                ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD)), null).getStatusCode())
                .isEqualTo(400);
    }

    private static APIGatewayV2HTTPEvent statusEvent(String query, String authorization) {
        var json = JSON.createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "GET /mixpanel/status");
        json.put("rawPath", "/mixpanel/status");
        json.put("rawQueryString", query);
        var params = json.putObject("queryStringParameters");
        for (String pair : query.split("&")) {
            params.put(pair.substring(0, pair.indexOf('=')), pair.substring(pair.indexOf('=') + 1));
        }
        if (authorization != null) {
            json.putObject("headers").put("authorization", authorization);
        }
        json.putObject("requestContext").put("requestId", "status-1").putObject("http").put("method", "GET")
                .put("path", "/mixpanel/status");
        json.put("isBase64Encoded", false);
        return ApiGatewayEvents.parse(json.toString());
    }

    @Test
    void extraTraits_areCopiedOntoEntersOnly_fromTheAllowList() {
        config = config.withExtraTraits(Map.of("first_name", "firstName", "plan", "plan"));
        handler = handler(Function.identity(), Function.identity());
        String body = Exports.add("c14", NAME, List.of("t0@example.com"))
                .replace("\"phone_number\"", "\"plan\":\"pro\",\"phone_number\"");
        assertSuccess(post(body), "add_members");
        assertThat(drain()).singleElement().satisfies(d ->
                assertThat(d.extraTraits()).containsExactlyInAnyOrderEntriesOf(
                        Map.of("firstName", "Firstnamet0", "plan", "pro")));
        post(Exports.remove("c14", NAME, List.of("t0@example.com")));
        assertThat(drain()).singleElement().satisfies(d -> assertThat(d.extraTraits()).isEmpty());
    }

    @Test
    void connections_haveTheirOwnCredentialsAndState() throws Exception {
        stack.secrets.putSecretValue(b -> b.secretId(stack.webhookSecretId).secretString(
                "{\"username\":\"mixpanel\",\"password\":\"local-secret\","
                        + "\"connections\":{\"eu\":{\"username\":\"mixpanel-eu\",\"password\":\"pw-eu-123\"}}}"));
        handler = handler(Function.identity(), Function.identity());
        String body = Exports.add("c15", NAME, Exports.users("k", 0, 2));
        String eu = ApiGatewayEvents.basic("mixpanel-eu", "pw-eu-123");
        // when the same cohort arrives on /mixpanel/eu
        assertSuccess(handler.handleRequest(onPath("/mixpanel/eu", body, eu), null), "add_members");
        // then its deltas and state belong to that connection only
        assertThat(drain()).hasSize(2).allSatisfy(d -> assertThat(d.cohort().connection()).isEqualTo("eu"));
        assertThat(table("c15")).isEmpty();
        assertSuccess(post(body), "add_members"); // the default connection sees them as new
        assertThat(drain()).hasSize(2).allSatisfy(d -> assertThat(d.cohort().isDefaultConnection()).isTrue());
        // and credentials do not cross connections; an unknown connection is a 404 (fix the URL)
        assertFailure(handler.handleRequest(onPath("/mixpanel", body, eu), null), 401);
        assertFailure(handler.handleRequest(onPath("/mixpanel/eu", body,
                ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD)), null), 401);
        assertFailure(handler.handleRequest(onPath("/mixpanel/nope", body, eu), null), 404);
        assertFailure(handler.handleRequest(onPath("/mixpanel/bad%20name", body, eu), null), 404);
        assertThat(drain()).isEmpty();
    }

    private static APIGatewayV2HTTPEvent onPath(String path, String body, String authorization) {
        var json = JSON.createObjectNode();
        json.put("version", "2.0");
        json.put("routeKey", "POST /mixpanel/{connection}");
        json.put("rawPath", path);
        json.putObject("headers").put("authorization", authorization).put("content-type", "application/json");
        json.putObject("requestContext").put("requestId", "conn-1").putObject("http").put("method", "POST")
                .put("path", path);
        json.put("body", body);
        json.put("isBase64Encoded", false);
        return ApiGatewayEvents.parse(json.toString());
    }

    @Test
    void wrongOrMissingCredentials_get401_andLeaveNoTrace() throws Exception {
        String body = Exports.add("c1", NAME, Exports.users("a", 0, 3));
        assertFailure(handler.handleRequest(ApiGatewayEvents.post(body, ApiGatewayEvents.basic("mixpanel", "wrong")), null), 401);
        assertFailure(handler.handleRequest(ApiGatewayEvents.post(body, (String) null), null), 401);
        assertFailure(handler.handleRequest(ApiGatewayEvents.post(body, "Basic !!!not-base64"), null), 401);
        assertFailure(handler.handleRequest(ApiGatewayEvents.post(body, "Bearer abc"), null), 401);
        assertFailure(handler.handleRequest(ApiGatewayEvents.post(body, ApiGatewayEvents.basic("", "")), null), 401);
        assertThat(itemCount()).isZero();
        assertThat(drain()).isEmpty();
    }

    @Test
    void unreadableSecret_gets503_notA401() throws Exception {
        config = new WebhookConfig(config.tableName(), config.deltaQueueUrl(), "no-such-secret",
                config.massExitPolicy(), config.sessionTtl(), config.maxBodyBytes(), config.secretCacheTtl(),
                config.commitConcurrency(), config.deltaDelay(), config.userIdProperty(), config.renameTraits(),
                config.historyTtl(), config.extraTraits());
        handler = handler(Function.identity(), Function.identity());
        JsonNode body = assertFailure(post(Exports.add("c1", NAME, Exports.users("a", 0, 3))), 503);
        assertThat(body.path("error").path("message").asText()).contains("SecretsManager");
        assertThat(itemCount()).isZero();
    }

    @Test
    void missingTable_gets503_soMixpanelRetries() throws Exception {
        config = new WebhookConfig("no-such-table", config.deltaQueueUrl(), config.webhookSecretId(),
                config.massExitPolicy(), config.sessionTtl(), config.maxBodyBytes(), config.secretCacheTtl(),
                config.commitConcurrency(), config.deltaDelay(), config.userIdProperty(), config.renameTraits(),
                config.historyTtl(), config.extraTraits());
        handler = handler(Function.identity(), Function.identity());
        assertFailure(post(Exports.add("c1", NAME, Exports.users("a", 0, 3))), 503);
        assertThat(drain()).isEmpty();
    }

    @Test
    void rotatedSecret_isPickedUp_withoutWaitingForTheCache() {
        assertSuccess(post(Exports.add("c1", NAME, List.of())), "add_members");
        // when the operator rotates the password
        stack.secrets.putSecretValue(b -> b.secretId(stack.webhookSecretId)
                .secretString("{\"username\":\"mixpanel\",\"password\":\"rotated-pw\"}"));
        // then the old one fails, and (after the recheck interval) the new one works
        APIGatewayV2HTTPEvent withNew = ApiGatewayEvents.post(Exports.add("c1", NAME, List.of()),
                ApiGatewayEvents.basic("mixpanel", "rotated-pw"));
        // the cached copy was read just now, so the first mismatch may not re-read yet: rebuild the
        // container (a fresh cache) to show the secret is re-read, then check rate-limited re-reads
        handler = handler(Function.identity(), Function.identity());
        assertThat(handler.handleRequest(withNew, null).getStatusCode()).isEqualTo(200);
        assertThat(post(Exports.add("c1", NAME, List.of())).getStatusCode()).isEqualTo(401);
    }

    @Test
    void malformedBodies_get400WithTheProblemNamed_andLeaveNoTrace() throws Exception {
        Map<String, String> bodies = new LinkedHashMap<>();
        bodies.put("not json", "body is not valid JSON");
        bodies.put("{\"parameters\":{}}", "missing 'action'");
        bodies.put("{\"action\":\"nuke\",\"parameters\":{}}", "unknown action");
        bodies.put("{\"action\":\"members\",\"parameters\":{\"mixpanel_project_id\":\"1\",\"mixpanel_cohort_name\":\"n\","
                + "\"members\":[{\"mixpanel_distinct_id\":\"x\"}]}}", "mixpanel_cohort_id");
        for (var e : bodies.entrySet()) {
            JsonNode body = assertFailure(post(e.getKey()), 400);
            assertThat(body.path("error").path("message").asText()).contains(e.getValue());
        }
        assertThat(itemCount()).isZero();
        assertThat(drain()).isEmpty();
    }

    @Test
    void oversizedBody_gets400() throws Exception {
        config = new WebhookConfig(config.tableName(), config.deltaQueueUrl(), config.webhookSecretId(),
                config.massExitPolicy(), config.sessionTtl(), 10_000, config.secretCacheTtl(), config.commitConcurrency(), config.deltaDelay(), config.userIdProperty(), config.renameTraits(),
                config.historyTtl(), config.extraTraits());
        handler = handler(Function.identity(), Function.identity());
        JsonNode body = assertFailure(post(Exports.add("c1", NAME, Exports.users("a", 0, 200))), 400);
        assertThat(body.path("error").path("message").asText()).contains("exceeds");
        assertThat(itemCount()).isZero();
    }

    @Test
    void unusableMembers_areSkippedAndCounted_whileTheRestSync() {
        String body = Exports.add("c1", NAME, List.of("good-1@example.com"))
                .replace("\"members\":[", "\"members\":[{\"email\":\"ada@example.com\"},{\"mixpanel_distinct_id\":\""
                        + "x".repeat(2000) + "\"},");
        assertSuccess(post(body), "add_members");
        assertThat(drain()).extracting(Delta::distinctId).containsExactly("good-1@example.com");
        String logs = captured.toString(StandardCharsets.UTF_8);
        assertThat(logs).contains("\"membersSkipped\":2").contains("\"MISSING_ID\":1").contains("\"ID_TOO_LONG\":1");
    }

    @Test
    void sampleEvents_runThroughTheHandler_asSamLocalWould() {
        for (String f : List.of("webhook-members-page1.json", "webhook-members-page2.json", "webhook-add-members.json",
                "webhook-remove-members.json")) {
            APIGatewayV2HTTPResponse r = handler.handleRequest(ApiGatewayEvents.fixture(f), null);
            assertThat(r.getStatusCode()).as(f + ": " + r.getBody()).isEqualTo(200);
        }
        assertThat(members(table("1457721"))).containsExactlyInAnyOrder("u-1002", "u-1003", "u-1004", "u-1005",
                "u-1006", "u-1007", "u-1008");
    }

    @Test
    void base64Body_isDecoded_whenApiGatewayEncodesIt() {
        var event = ApiGatewayEvents.post(Exports.add("c1", NAME, List.of("b@example.com")),
                Map.of("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD)), true);
        assertSuccess(handler.handleRequest(event, null), "add_members");
    }

    @Test
    void thousandUserPage_costsAtMostTenReadsOneWritePerChangeAndOneSend() {
        List<String> users = Exports.users("p", 0, 1000);
        String page = Exports.members("c10", NAME, null, 1, 1, users);
        // given a cohort already known (its first call records its name once, for renames)
        post(Exports.add("c10", NAME, List.of()));
        AwsRequestCounter.reset();
        // when the page is new: 1,000 real changes
        assertSuccess(post(page), "members");
        Map<String, Long> changed = AwsRequestCounter.snapshot();
        AwsRequestCounter.reset();
        // when the identical page arrives again
        assertSuccess(post(page), "members");
        Map<String, Long> unchanged = AwsRequestCounter.snapshot();
        originalOut.println("AWS requests for a 1,000-user page, all new:   " + changed);
        originalOut.println("AWS requests for a 1,000-user page, unchanged: " + unchanged);
        // then
        assertThat(changed.get("DynamoDb.BatchGetItem")).isLessThanOrEqualTo(10);
        assertThat(changed.get("DynamoDb.PutItem")).isEqualTo(1000 + 1); // one per change + the history entry
        assertThat(changed.get("DynamoDb.GetItem")).isEqualTo(1); // the cohort's last known name
        assertThat(changed.get("Sqs.SendMessageBatch")).isBetween(1L, 2L);
        assertThat(unchanged.get("DynamoDb.BatchGetItem")).isLessThanOrEqualTo(10);
        assertThat(unchanged.getOrDefault("DynamoDb.PutItem", 0L)).isZero();
        assertThat(unchanged.getOrDefault("Sqs.SendMessageBatch", 0L)).isZero();
        assertThat(drain()).hasSize(1000);
    }
}
