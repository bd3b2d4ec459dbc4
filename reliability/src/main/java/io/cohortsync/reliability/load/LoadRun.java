package io.cohortsync.reliability.load;

import com.fasterxml.jackson.databind.JsonNode;
import io.cohortsync.aws.AwsClients;
import io.cohortsync.local.LocalPipeline;
import io.cohortsync.reliability.support.LeakScanner;
import io.cohortsync.reliability.support.OutputCapture;
import io.cohortsync.testkit.ApiGatewayEvents;
import io.cohortsync.testkit.AwsStack;
import io.cohortsync.testkit.Exports;
import io.cohortsync.testkit.QueueReader;
import io.cohortsync.testkit.SegmentStandIn;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.sqs.SqsClient;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A burst on the local stack ({@link LocalPipeline}: the real webhook behind the API Gateway stand-in,
 * the real sender behind the SQS event-source stand-in, moto, and the Segment stand-in): the pages of
 * one full sync, all sent at once, each also replayed at the same moment, by a Mixpanel-like client
 * that retries 429/5xx and timeouts (API Gateway gives up on an integration after 30 s) up to 5 times.
 * Then it waits for the pipeline to drain and checks that every request was answered 2xx in the end,
 * nothing was lost or sent twice, and Segment ends with every user in the cohort.
 */
public final class LoadRun {
    private static final AtomicInteger RUN = new AtomicInteger();
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /**
     * What a run sends: {@code cohorts} full syncs of {@code pagesPerCohort} pages each, all pages at once.
     * The pages are spread over cohorts because moto answers a Query by sorting the whole partition (about
     * 9 s for a 50,000-member cohort, past the SDK's 10 s call timeout with paging), which would time out
     * every exit pass of one huge cohort; DynamoDB reads those pages in milliseconds.
     */
    public record Options(int cohorts, int pagesPerCohort, int usersPerPage, Duration clientTimeout, int maxAttempts,
                          Duration drainTimeout) {
        /** {@code make load}: 50 pages × 1,000 users (10 full syncs of 5 pages), each page sent twice at once. */
        public static final Options FULL = new Options(10, 5, 1_000, Duration.ofSeconds(30), 6, Duration.ofMinutes(15));

        int pages() {
            return cohorts * pagesPerCohort;
        }
    }

    /** What a run measured and found. */
    public record Result(int requests, int attempts, int restarts, int replayedFromDlq, Map<String, Integer> answers,
                         int members, double burstSeconds, int changes,
                         double webhookSeconds, double endToEndSeconds, double p50Millis, double p99Millis,
                         double maxMillis, double handlerP50Millis, double handlerP99Millis, List<String> problems) {
        /** Member entries (originals and replays) per second until every page had been answered 2xx. */
        public double membersPerSecond() {
            return members / webhookSeconds;
        }

        public double changesPerSecond() {
            return changes / endToEndSeconds;
        }

        public void print(PrintStream out) {
            out.printf(Locale.ROOT, "cohort-sync load: %d webhook requests (%d pages x 2, sent at once), %d attempts%n",
                    requests, requests / 2, attempts);
            out.printf(Locale.ROOT, "  answers by status (every attempt)   %s%n", answers);
            out.printf(Locale.ROOT, "  full sync restarted from the top    %d times (pages failing after 5 retries)%n", restarts);
            out.printf(Locale.ROOT, "  DLQ messages replayed               %d (redriven by SQS after maxReceiveCount)%n",
                    replayedFromDlq);
            out.printf(Locale.ROOT, "  first answer to every request after %.1f s%n", burstSeconds);
            out.printf(Locale.ROOT, "  members through the webhook         %,d (originals and replays) answered 2xx after %.1f s = %,.0f members/s%n",
                    members, webhookSeconds, membersPerSecond());
            out.printf(Locale.ROOT, "  changes end to end (to Segment)     %,d in %.1f s = %,.0f changes/s%n", changes,
                    endToEndSeconds, changesPerSecond());
            out.printf(Locale.ROOT, "  webhook latency, client (burst)     p50 %.0f ms, p99 %.0f ms, max %.0f ms (queueing in the"
                    + " front door included; a 30 s answer is API Gateway's timeout)%n", p50Millis, p99Millis, maxMillis);
            out.printf(Locale.ROOT, "  webhook latency, handler            p50 %.0f ms, p99 %.0f ms (durationMs of its log lines)%n",
                    handlerP50Millis, handlerP99Millis);
            out.printf(Locale.ROOT, "  problems                            %s%n", problems.isEmpty() ? "none" : problems);
        }
    }

    private LoadRun() {
    }

    public static Result run(Options options, OutputCapture capture) throws Exception {
        String prefix = "load-" + ProcessHandle.current().pid() + "-" + RUN.incrementAndGet();
        List<String> problems = Collections.synchronizedList(new ArrayList<>());
        try (SqsClient sqs = new AwsClients(Region.US_EAST_1, StaticCredentialsProvider.create(
                AwsBasicCredentials.create("testing", "testing"))).sqs();
             SegmentStandIn segment = SegmentStandIn.start(AwsStack.SEGMENT_WRITE_KEY);
             LocalPipeline pipeline = LocalPipeline.start(new LocalPipeline.Options("127.0.0.1", 0,
                     segment.baseUrl().toString(), AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD,
                     // failed records come back after 10 s (the deployed queue waits 360 s): long enough that a
                     // busy emulator does not exhaust maxReceiveCount within a burst, short enough to finish
                     AwsStack.SEGMENT_WRITE_KEY, prefix, null, Duration.ofSeconds(10), capture.stream()))) {
            // full syncs: per cohort, pages of users sharing one session
            Map<String, String> traitOf = new HashMap<>();
            List<String> users = Exports.users(prefix + "-u", 0, options.pages() * options.usersPerPage());
            List<String> bodies = new ArrayList<>();
            for (int c = 0; c < options.cohorts(); c++) {
                for (int p = 0; p < options.pagesPerCohort(); p++) {
                    int from = (c * options.pagesPerCohort() + p) * options.usersPerPage();
                    List<String> page = users.subList(from, from + options.usersPerPage());
                    bodies.add(Exports.members("load-" + c, "Load test " + c, "load-session-" + c, p + 1,
                            options.pagesPerCohort(), page));
                    String trait = "Mixpanel - Load test " + c;
                    page.forEach(u -> traitOf.put(u, trait));
                }
            }
            URI url = URI.create("http://127.0.0.1:" + pipeline.port() + "/mixpanel");
            List<Long> latencies = Collections.synchronizedList(new ArrayList<>());
            List<Long> restartLatencies = Collections.synchronizedList(new ArrayList<>());
            AtomicInteger restarts = new AtomicInteger();
            AtomicInteger redriven = new AtomicInteger();
            Instant[] burstDone = new Instant[1];
            Map<String, Integer> answers = Collections.synchronizedMap(new TreeMap<>());
            AtomicInteger attempts = new AtomicInteger();
            Instant start = Instant.now();
            int requests = 2 * bodies.size();
            // A thread per request: the whole burst is in flight at once, originals and replays together.
            try (ExecutorService clients = Executors.newFixedThreadPool(requests);
                 HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()) {
                List<Future<Integer>> finals = new ArrayList<>();
                for (int copy = 0; copy < 2; copy++) {
                    for (String body : bodies) {
                        finals.add(clients.submit(() -> mixpanelSend(http, url, body, options, latencies, answers,
                                attempts)));
                    }
                }
                boolean allAnswered2xx = true;
                for (Future<Integer> f : finals) {
                    int status = f.get();
                    if (status / 100 == 4) {
                        problems.add("a page of a valid full sync was answered " + status);
                    }
                    allAnswered2xx &= status / 100 == 2;
                }
                burstDone[0] = Instant.now();
                // A sync with a page that still failed after Mixpanel's retries is restarted from the top
                // at the next schedule: every page again, in order.
                for (int restart = 1; !allAnswered2xx && restart <= 3; restart++) {
                    restarts.incrementAndGet();
                    allAnswered2xx = true;
                    for (String body : bodies) {
                        int status = mixpanelSend(http, url, body, options, restartLatencies, answers, attempts);
                        allAnswered2xx &= status / 100 == 2;
                    }
                }
                if (!allAnswered2xx) {
                    problems.add("the full sync still failed after 3 restarts from the top");
                }
            }
            Instant answered = Instant.now();

            // the pipeline drains: everything queued is sent; what SQS redrove to the DLQ meanwhile is
            // replayed, as an operator would (README "replaying the DLQ")
            int expected = users.size();
            Instant deadline = Instant.now().plus(options.drainTimeout());
            int quiet = 0;
            while (quiet < 2 || segment.acceptedIdentifies().size() < expected) {
                if (Instant.now().isAfter(deadline)) {
                    problems.add("the pipeline did not drain within " + options.drainTimeout().toSeconds() + " s");
                    break;
                }
                quiet = pipeline.idle() ? quiet + 1 : 0;
                if (quiet >= 2 && segment.acceptedIdentifies().size() < expected) {
                    int replayed = replayDeadLetters(sqs, pipeline);
                    if (replayed == 0) {
                        break; // idle, nothing to replay, users missing: checked below
                    }
                    redriven.addAndGet(replayed);
                    quiet = 0;
                }
                Thread.sleep(250); // poll interval, not a guess at how long anything takes
            }
            List<JsonNode> accepted = segment.acceptedIdentifies();
            Instant drained = accepted.isEmpty() ? Instant.now()
                    : segment.requests().stream().filter(r -> r.status() == 200).map(SegmentStandIn.RecordedRequest::receivedAt)
                    .max(Instant::compareTo).orElse(Instant.now());

            check(users, traitOf, accepted, segment, pipeline, problems);
            String output = capture.text();
            new LeakScanner().scan(output).forEach(l -> problems.add("leak in the functions' output: " + l));

            List<Long> sorted = new ArrayList<>(latencies);
            Collections.sort(sorted);
            List<Long> handler = new ArrayList<>();
            for (String line : output.split("\n")) {
                if (line.contains("\"webhook handled\"")) {
                    try {
                        handler.add(Math.round(JSON.readTree(line).path("durationMs").asDouble()));
                    } catch (IOException notJson) {
                        // not one of the webhook's lines
                    }
                }
            }
            Collections.sort(handler);
            keep(output);
            return new Result(requests, attempts.get(), restarts.get(), redriven.get(), Map.copyOf(answers),
                    requests * options.usersPerPage(), seconds(start, burstDone[0]),
                    accepted.size(), seconds(start, answered), seconds(start, drained), percentile(sorted, 50),
                    percentile(sorted, 99), sorted.isEmpty() ? 0 : sorted.getLast(), percentile(handler, 50),
                    percentile(handler, 99), List.copyOf(problems));
        }
    }

    /** One request as Mixpanel sends it: retried on 429, 5xx and timeouts, up to {@code maxAttempts} in all. */
    private static int mixpanelSend(HttpClient http, URI url, String body, Options options, List<Long> latencies,
                                    Map<String, Integer> answers, AtomicInteger attempts) throws InterruptedException {
        int status = 0;
        for (int attempt = 1; attempt <= options.maxAttempts(); attempt++) {
            attempts.incrementAndGet();
            long started = System.nanoTime();
            HttpRequest request = HttpRequest.newBuilder(url).timeout(options.clientTimeout())
                    .header("content-type", "application/json")
                    .header("authorization", ApiGatewayEvents.basic(AwsStack.WEBHOOK_USERNAME, AwsStack.WEBHOOK_PASSWORD))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            try {
                status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
            } catch (HttpTimeoutException e) {
                status = 504; // what API Gateway answers when the integration takes longer than 30 s
            } catch (IOException e) {
                status = 502;
            }
            latencies.add((System.nanoTime() - started) / 1_000_000);
            answers.merge(Integer.toString(status), 1, Integer::sum);
            if (status / 100 == 2 || status / 100 == 4 && status != 429) {
                return status;
            }
            Thread.sleep(Math.min(8_000, 500L << (attempt - 1))); // Mixpanel backs off between retries
        }
        return status;
    }

    private static void check(List<String> users, Map<String, String> traitOf, List<JsonNode> accepted,
                              SegmentStandIn segment,
                              LocalPipeline pipeline, List<String> problems) {
        Map<String, Integer> perUser = new HashMap<>();
        Set<String> ids = new HashSet<>();
        for (JsonNode m : accepted) {
            perUser.merge(m.path("userId").asText(), 1, Integer::sum);
            if (!ids.add(m.path("messageId").asText())) {
                problems.add("a messageId accepted twice");
            }
        }
        long lost = users.stream().filter(u -> !perUser.containsKey(u)).count();
        long twice = perUser.values().stream().filter(n -> n > 1).count();
        Map<String, Map<String, JsonNode>> traits = segment.finalTraits();
        long wrong = users.stream().filter(u -> {
            JsonNode v = traits.getOrDefault(u, Map.of()).get(traitOf.get(u));
            return v == null || !v.asBoolean();
        }).count();
        if (lost > 0) {
            problems.add(lost + " users never reached Segment (lost)");
        }
        if (twice > 0) {
            problems.add(twice + " users entered twice under different messageIds");
        }
        if (wrong > 0) {
            problems.add(wrong + " users do not end as members in Segment");
        }
        if (accepted.size() != users.size()) {
            problems.add(accepted.size() + " identifies accepted for " + users.size() + " users");
        }
        if (pipeline.deadLetters() > 0) {
            problems.add(pipeline.deadLetters() + " messages in the DLQ");
        }
        if (segment.droppedInvalid() + segment.droppedOverLimit() > 0) {
            problems.add("Segment dropped messages over its limits or without a user");
        }
    }

    /** Moves every message of the DLQ back onto the delta queue; returns how many. */
    private static int replayDeadLetters(SqsClient sqs, LocalPipeline pipeline) {
        String dlq = pipeline.environment().get("DLQ_URL");
        String queue = pipeline.environment().get("DELTA_QUEUE_URL");
        int n = 0;
        for (var m : QueueReader.drainMessages(sqs, dlq)) {
            sqs.sendMessage(b -> b.queueUrl(queue).messageBody(m.body()));
            n++;
        }
        return n;
    }

    /** The functions' output of the last run, for a look at what they logged (it is scanned, not shown). */
    private static void keep(String output) {
        try {
            java.nio.file.Path dir = java.nio.file.Path.of("target");
            java.nio.file.Files.createDirectories(dir);
            java.nio.file.Files.writeString(dir.resolve("load-output.log"), output);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static double seconds(Instant from, Instant to) {
        return Math.max(0.001, Duration.between(from, to).toMillis() / 1000.0);
    }

    private static double percentile(List<Long> sorted, int p) {
        if (sorted.isEmpty()) {
            return 0;
        }
        int index = (int) Math.ceil(p / 100.0 * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, index)));
    }
}
