package io.cohortsync.reliability.chaos;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.CohortState;
import io.cohortsync.domain.Membership;
import io.cohortsync.domain.ReconcileJob;
import io.cohortsync.domain.SessionOutcome;
import io.cohortsync.domain.Shards;
import io.cohortsync.testkit.Exports;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * Mixpanel's side of the webhook, behaving as its docs say: each cohort has a true membership and the
 * snapshot of its last successful sync; a sync sends either the diff from that snapshot
 * ({@code add_members} / {@code remove_members}, empty calls included) or the full cohort
 * ({@code members}, paged, one session id). Every request is retried on 429/5xx up to 5 times and
 * abandoned on 4xx; a sync with an abandoned request leaves the snapshot as it was, so the next sync
 * re-sends what never got a 2xx, and a failed full sync is restarted from the top.
 *
 * <p>Syncs of one connection (one webhook URL) run one after another, as Mixpanel runs them; each diff is
 * computed against Mixpanel's own snapshot, never against what the webhook did with the last one, so a
 * diff may well name a user whom a full sync left out while that sync's exit pass is still pending.
 *
 * <p>Everything Mixpanel tells the webhook is written down as {@link Report}s, in order, marked
 * certain (answered 2xx) or not (abandoned after 5xx/crashes: it may or may not have taken effect).
 * The checker derives from them what Segment must end up with.
 */
final class MixpanelSim {
    /** The first try and Mixpanel's 5 retries. */
    static final int MAX_ATTEMPTS = 6;
    /** Restarts "from the top" of a failed full sync before Mixpanel waits for the next schedule. */
    static final int MAX_RESTARTS = 2;
    /** How often a 2xx never reaches Mixpanel (its client timed out), so it retries a request that worked. */
    static final double LOST_ANSWER = 0.04;
    private static final ObjectMapper JSON = new ObjectMapper();
    /** The webhook's port calls made only by some requests or late in them (FaultyPorts' names). */
    static final Set<String> RARE_WEBHOOK_PORTS = Set.of("cohorts.create", "cohorts.rename", "cohorts.completeSession",
            "jobs.enqueue", "store.mark", "sessions.outcome", "store.hasLegacyState", "cohorts.startMigration");

    /** What Mixpanel told the webhook about one user of one cohort. */
    record Report(String cohortId, String user, boolean member, boolean certain) {
    }

    /** The name one request carried, certain if answered 2xx. */
    record NameReport(String name, boolean certain) {
    }

    enum Outcome { ACK, GAVE_UP, REJECTED }

    /** One Mixpanel cohort as Mixpanel knows it. */
    static final class Cohort {
        final String id;
        /** The connection (webhook URL) that syncs it. */
        final String connection;
        final CohortRef ref;
        /** The names it may be renamed to: its own, so no two cohorts ever share a trait. */
        final List<String> namePool;
        /** Members per page of its exports and diffs. */
        final int pageSize;
        /** How many users may ever be in it, and whether it is one of the big cohorts (thousands of members). */
        int userPool;
        boolean big;
        String name;
        /** Who the last fully answered export left out of Mixpanel's snapshot: its exit pass exits them. */
        final Set<String> leftOut = Collections.synchronizedSet(new LinkedHashSet<>());
        /** The names its requests carried, each certain once answered 2xx: what the stored name may be. */
        final List<NameReport> nameReports = Collections.synchronizedList(new ArrayList<>());
        final Set<String> truth = new LinkedHashSet<>();
        final Set<String> snapshot = new LinkedHashSet<>();
        /** Every user that was ever in the cohort. */
        final Set<String> universe = Collections.synchronizedSet(new LinkedHashSet<>());
        Export pendingRestart;
        int restarts;
        boolean synced;

        Cohort(String id, String connection, List<String> namePool, int pageSize) {
            this.id = id;
            this.connection = connection;
            this.ref = ChaosEnv.cohort(connection, id);
            this.namePool = List.copyOf(namePool);
            this.pageSize = pageSize;
            this.name = namePool.getFirst();
        }
    }

    /** One full export: fixed content and pages, one session id, possibly sent more than once. */
    static final class Export {
        final Cohort cohort;
        final String name;
        final String sessionId;
        final List<List<String>> pages;
        final Set<String> content;
        final Set<Integer> sent = Collections.synchronizedSet(new HashSet<>());
        final Set<Integer> acked = Collections.synchronizedSet(new HashSet<>());
        boolean exitsReported;
        boolean exitsCertain;

        Export(Cohort cohort, String sessionId, List<List<String>> pages) {
            this.cohort = cohort;
            this.name = cohort.name;
            this.sessionId = sessionId;
            this.pages = pages;
            this.content = new LinkedHashSet<>();
            pages.forEach(content::addAll);
        }
    }

    /**
     * One HTTP request Mixpanel makes (and retries).
     *
     * @param completing the page expected to complete its session (every other page answered already)
     */
    record Request(long seq, Cohort cohort, String name, String action, List<String> users, String body,
                   boolean outage, boolean completing) {
        boolean desiredMember() {
            return !"remove_members".equals(action);
        }
    }

    /** How pages of a full export are sent. */
    enum PageMode { IN_ORDER, SHUFFLED, CONCURRENT }

    private final ChaosEnv env;
    private final ChaosStats stats;
    /** What the functions printed so far: the webhook's log line explains a 503 nobody injected. */
    private final Supplier<String> output;
    private final long seed;
    private final double faultRate;
    private final double outageRate;
    final List<Report> reports = Collections.synchronizedList(new ArrayList<>());
    private final StringBuilder answers = new StringBuilder();
    private final AtomicInteger requestSeq = new AtomicInteger();
    private final AtomicInteger sessionSeq = new AtomicInteger();
    volatile boolean faultsOn = true;
    /**
     * Called after each request of a sync run on the driver thread: the driver lets the sender poll in
     * between. A no-op while syncs run on several threads.
     */
    volatile Runnable betweenRequests = () -> { };
    /**
     * Called before each of Mixpanel's retries (which come over about a minute): the reconciler keeps working
     * meanwhile, unless the schedule lets it lag, so a cohort being migrated can become ready in time.
     */
    volatile Runnable betweenAttempts = () -> { };

    MixpanelSim(ChaosEnv env, ChaosStats stats, long seed, double faultRate, double outageRate,
                Supplier<String> output) {
        this.env = env;
        this.output = output;
        this.stats = stats;
        this.seed = seed;
        this.faultRate = faultRate;
        this.outageRate = outageRate;
    }

    /** Every answer body the webhook gave, for the leak scan. */
    String answerBodies() {
        synchronized (answers) {
            return answers.toString();
        }
    }

    // ---- syncs ---------------------------------------------------------------------------------

    /** One scheduled sync of {@code c}: a restart of a failed full export, a full export, or a diff. */
    void sync(Cohort c, boolean full, PageMode mode, SplittableRandom rng) {
        int pageSize = c.pageSize;
        if (c.pendingRestart != null) {
            Export e = c.pendingRestart;
            stats.count("full syncs restarted from the top");
            runExport(e, mode, rng);
            return;
        }
        if (full) {
            List<String> members = new ArrayList<>(c.truth);
            shuffle(members, rng);
            List<List<String>> pages = new ArrayList<>();
            for (int i = 0; i < members.size(); i += pageSize) {
                pages.add(List.copyOf(members.subList(i, Math.min(members.size(), i + pageSize))));
            }
            if (pages.isEmpty()) {
                pages.add(List.of());
            }
            Export e = new Export(c, "sess-" + seed + "-" + sessionSeq.incrementAndGet(), pages);
            stats.count("full syncs");
            runExport(e, mode, rng);
        } else {
            runDiff(c, rng, pageSize);
        }
    }

    private void runExport(Export e, PageMode mode, SplittableRandom rng) {
        Cohort c = e.cohort;
        int total = e.pages.size();
        List<Integer> order = new ArrayList<>();
        for (int p = 1; p <= total; p++) {
            order.add(p);
        }
        if (mode == PageMode.SHUFFLED) {
            shuffle(order, rng);
            stats.count("full syncs with pages out of order");
        }
        boolean allAcked = true;
        if (mode == PageMode.CONCURRENT && total > 1) {
            stats.count("full syncs with concurrent pages");
            List<Thread> threads = new ArrayList<>();
            Outcome[] outcomes = new Outcome[total + 1];
            List<Request> requests = new ArrayList<>();
            for (int p : order) {
                requests.add(pageRequest(e, p, rng));
            }
            for (int i = 0; i < requests.size(); i++) {
                Request r = requests.get(i);
                int page = order.get(i);
                e.sent.add(page);
                threads.add(Thread.ofPlatform().name("mixpanel-page-" + page).start(
                        () -> outcomes[page] = deliver(r, true)));
            }
            threads.forEach(MixpanelSim::join);
            for (int i = 0; i < requests.size(); i++) {
                int page = order.get(i);
                report(requests.get(i), outcomes[page]);
                if (outcomes[page] == Outcome.ACK) {
                    e.acked.add(page);
                    checkDurable(requests.get(i));
                } else {
                    allAcked = false;
                }
            }
        } else {
            for (int p : order) {
                Request r = pageRequest(e, p, rng);
                if (e.acked.size() == total - 1 && !e.acked.contains(p)) {
                    r = new Request(r.seq(), r.cohort(), r.name(), r.action(), r.users(), r.body(), r.outage(), true);
                }
                e.sent.add(p);
                Outcome o = deliver(r, false);
                report(r, o);
                if (o != Outcome.ACK) {
                    allAcked = false;
                    break; // Mixpanel abandons this attempt; the sync restarts from the top later
                }
                e.acked.add(p);
                checkDurable(r);
                if (rng.nextDouble() < 0.08) {
                    // Mixpanel retries a page that had worked (its client gave up waiting): a duplicate page
                    stats.fault("mixpanel-duplicate-request");
                    Request again = new Request(requestSeq.incrementAndGet(), c, r.name(), r.action(), r.users(), r.body(),
                            false, false);
                    Outcome repeated = deliver(again, false);
                    report(again, repeated);
                    if (repeated == Outcome.ACK) {
                        checkDurable(again);
                    }
                }
                betweenRequests.run();
            }
        }
        // Exits are implied once every page of the session has been sent, certain once each was answered 2xx.
        if (e.sent.size() == total && !e.exitsReported) {
            e.exitsReported = true;
            reportExits(e, false);
        }
        if (e.acked.size() == total && !e.exitsCertain) {
            e.exitsCertain = true;
            reportExits(e, true);
            checkSessionDurable(e);
        }
        if (allAcked) {
            c.leftOut.clear();
            c.snapshot.stream().filter(u -> !e.content.contains(u)).forEach(c.leftOut::add);
            c.snapshot.clear();
            c.snapshot.addAll(e.content);
            c.pendingRestart = null;
            c.restarts = 0;
            c.synced = true;
        } else if (c.restarts < MAX_RESTARTS) {
            c.pendingRestart = e;
            c.restarts++;
        } else {
            stats.count("full syncs abandoned");
            c.pendingRestart = null;
            c.restarts = 0;
        }
    }

    private void reportExits(Export e, boolean certain) {
        for (String u : List.copyOf(e.cohort.universe)) {
            if (!e.content.contains(u)) {
                reports.add(new Report(e.cohort.id, u, false, certain));
            }
        }
    }

    private void runDiff(Cohort c, SplittableRandom rng, int pageSize) {
        Set<String> target = new LinkedHashSet<>(c.truth);
        List<String> add = new ArrayList<>(target);
        add.removeAll(c.snapshot);
        List<String> remove = new ArrayList<>(c.snapshot);
        remove.removeAll(target);
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < add.size(); i += pageSize) {
            requests.add(request(c, "add_members", add.subList(i, Math.min(add.size(), i + pageSize)), null, 0, 0, rng));
        }
        for (int i = 0; i < remove.size(); i += pageSize) {
            requests.add(request(c, "remove_members", remove.subList(i, Math.min(remove.size(), i + pageSize)), null,
                    0, 0, rng));
        }
        if (requests.isEmpty()) {
            // Mixpanel calls every interval even when nothing changed.
            requests.add(request(c, rng.nextBoolean() ? "add_members" : "remove_members", List.of(), null, 0, 0, rng));
        }
        stats.count("diff syncs");
        List<String> cameBack = add.stream().filter(c.leftOut::contains).toList();
        if (!cameBack.isEmpty() && env.cohortState(c.ref).map(CohortState::reconciling).orElse(false)) {
            // The race rule's case: Mixpanel diffs against its own snapshot, so it names users the full sync
            // left out while that sync's exit pass has not reached them (it must spare them).
            stats.count("diffs naming users a full sync left out, its exit pass pending");
            stats.add("users named so (a full sync left them out, its exit pass pending)", cameBack.size());
        }
        for (Request r : requests) {
            Outcome o;
            if (rng.nextDouble() < 0.06) {
                // A retry racing the original: the same request twice at once.
                stats.fault("mixpanel-request-racing-its-retry");
                Request twin = new Request(requestSeq.incrementAndGet(), c, r.name(), r.action(), r.users(), r.body(), false,
                        false);
                Outcome[] other = new Outcome[1];
                Thread t = Thread.ofPlatform().name("mixpanel-twin").start(() -> other[0] = deliver(twin, true));
                o = deliver(r, true);
                join(t);
                report(twin, other[0]);
                if (other[0] == Outcome.ACK) {
                    checkDurable(twin);
                }
                if (o == Outcome.ACK) {
                    checkDurable(r);
                }
            } else {
                o = deliver(r, false);
                if (o == Outcome.ACK) {
                    checkDurable(r);
                }
            }
            report(r, o);
            if (o != Outcome.ACK) {
                return; // the snapshot stays: the next sync re-diffs from it
            }
            betweenRequests.run();
        }
        c.snapshot.clear();
        c.snapshot.addAll(target);
        c.synced = true;
    }

    // ---- one request, with Mixpanel's retries ----------------------------------------------------

    private Request pageRequest(Export e, int page, SplittableRandom rng) {
        return request(e.cohort, e.name, "members", e.pages.get(page - 1), e.sessionId, page, e.pages.size(), rng);
    }

    private Request request(Cohort c, String action, List<String> users, String session, int page, int total,
                            SplittableRandom rng) {
        return request(c, c.name, action, users, session, page, total, rng);
    }

    private Request request(Cohort c, String name, String action, List<String> users, String session, int page,
                            int total, SplittableRandom rng) {
        ObjectNode root = JSON.createObjectNode();
        root.put("action", action);
        ObjectNode p = root.putObject("parameters");
        p.put("mixpanel_project_id", Exports.PROJECT);
        p.put("mixpanel_cohort_id", c.id);
        p.put("mixpanel_cohort_name", name);
        p.put("mixpanel_cohort_description", "chaos cohort");
        if (session != null) {
            p.put("mixpanel_session_id", session);
            p.putObject("page_info").put("total_pages", total).put("page_count", page);
        }
        ArrayNode members = p.putArray("members");
        users.forEach(u -> members.add(Exports.member(u)));
        if (rng.nextDouble() < 0.1) {
            // Members Mixpanel may send that have no usable id: skipped and counted, never fatal.
            ObjectNode noId = Exports.member("noid" + rng.nextInt(1000) + "@example.com");
            noId.remove("mixpanel_distinct_id");
            members.add(noId);
            members.add(Exports.member("x".repeat(1100) + "@example.com"));
            stats.count("requests with unusable members");
        }
        boolean outage = faultsOn && rng.nextDouble() < outageRate;
        return new Request(requestSeq.incrementAndGet(), c, name, action, List.copyOf(users), root.toString(), outage,
                false);
    }

    Outcome deliver(Request r, boolean concurrent) {
        for (int attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
            if (attempt > 1 && !concurrent) {
                betweenAttempts.run();
            }
            SplittableRandom rng = Seeds.stream(seed, "webhook", r.seq(), attempt);
            Faults.Plan plan = faultsOn ? plan(rng, r.outage(), r.completing()) : Faults.Plan.NONE;
            ChaosEnv.WebhookAnswer a = env.invokeWebhook(r.cohort().connection, r.body(), plan);
            stats.count("webhook requests");
            if (attempt > 1) {
                stats.count("Mixpanel retries");
            }
            if (a.invocation().fired()) {
                stats.fault("webhook " + a.invocation().kind());
            }
            checkAnswer(r, a, concurrent);
            int status = a.status();
            if (status / 100 == 2) {
                if (faultsOn && rng.nextDouble() < LOST_ANSWER) {
                    stats.fault("mixpanel-answer-lost");
                    continue;
                }
                return Outcome.ACK;
            }
            if (status / 100 == 4 && status != 429) {
                return Outcome.REJECTED; // 4xx pauses the sync: Mixpanel does not retry
            }
        }
        stats.count("requests Mixpanel gave up on");
        return Outcome.GAVE_UP;
    }

    private Faults.Plan plan(SplittableRandom rng, boolean outage, boolean completing) {
        if (!outage && rng.nextDouble() >= faultRate) {
            return Faults.Plan.NONE;
        }
        double kind = rng.nextDouble();
        Faults.Action action = kind < 0.4 ? Faults.Action.THROTTLE
                : kind < 0.65 ? Faults.Action.CRASH_BEFORE : Faults.Action.CRASH_AFTER;
        // A request makes about ten port calls (cohort item, reads, enqueue, commits or marks, receipts, jobs);
        // on a page that completes its session, half the faults aim at its last calls: the completion and its jobs.
        int atCall = !outage && completing && rng.nextBoolean() ? 7 + rng.nextInt(6) : 1 + rng.nextInt(outage ? 3 : 10);
        // A third of the other faults count only the calls a request makes late or only sometimes (a mark
        // while an exit pass is pending, a rename, a completion and its jobs), so those are hit too.
        boolean rare = !outage && !completing && rng.nextDouble() < 0.33;
        return new Faults.Plan(action, rare ? 1 + rng.nextInt(2) : atCall, rng.nextBoolean(),
                rare ? RARE_WEBHOOK_PORTS : null);
    }

    private void report(Request r, Outcome o) {
        if (o == Outcome.REJECTED) {
            return;
        }
        r.cohort().nameReports.add(new NameReport(r.name(), o == Outcome.ACK));
        for (String u : r.users()) {
            reports.add(new Report(r.cohort().id, u, r.desiredMember(), o == Outcome.ACK));
        }
    }

    // ---- what Mixpanel is answered ---------------------------------------------------------------

    private void checkAnswer(Request r, ChaosEnv.WebhookAnswer a, boolean concurrent) {
        Faults.Invocation inv = a.invocation();
        synchronized (answers) {
            answers.append(a.body()).append('\n');
        }
        if (a.crashed()) {
            if (!inv.fired()) {
                violation("answer", "the webhook died without an injected fault");
            }
            return;
        }
        int status = a.status();
        JsonNode body;
        try {
            body = JSON.readTree(a.body());
        } catch (Exception e) {
            violation("answer-envelope", "status " + status + " with a body that is not JSON");
            return;
        }
        boolean success = status / 100 == 2;
        // Credentials are checked before the body is read, so a failure to read them cannot name the action.
        boolean beforeParsing = inv.fired() && inv.kind().startsWith("throttle:SecretsManager");
        String action = body.path("action").asText(null);
        if (!(r.action().equals(action) || beforeParsing && "unknown".equals(action))
                || !(success ? "success" : "failure").equals(body.path("status").asText(null))
                || (!success && (body.path("error").path("code").asInt() != status
                || body.path("error").path("message").asText("").isBlank()))) {
            violation("answer-envelope", "status " + status + " answered " + a.body());
        }
        String message = body.path("error").path("message").asText("");
        if (success && inv.fired()) {
            violation("2xx-despite-fault", inv.description() + " yet answered " + status);
        }
        if (status / 100 == 4 && status != 429) {
            violation("4xx-for-valid-request", status + " (" + message + ") for a valid " + r.action());
        }
        if (status / 100 == 5 || status == 429) {
            if (inv.fired()) {
                if (inv.kind().startsWith("throttle") && status != 503) {
                    violation("wrong-status-for-transient-fault", inv.description() + " answered " + status);
                }
            } else if (concurrent && status == 503) {
                stats.count("503 for lost races");
            } else if (status == 503 && message.contains("being migrated")) {
                stats.count("503 while the reconciler migrated the cohort");
            } else if (status == 503 && emulatorTooSlow(a.requestId())) {
                // moto on a busy machine can outlast the SDK's 4 s attempt timeout: a real transient fault,
                // rightly answered 503; anything else unasked-for is a finding.
                stats.count("503 because the emulator timed out (no fault injected)");
            } else {
                violation("unexpected-" + status, message + " (no fault injected, " + r.action() + ")");
            }
        }
    }

    private boolean emulatorTooSlow(String requestId) {
        for (String line : output.get().split("\n")) {
            if (line.contains("\"requestId\":\"" + requestId + "\"")) {
                try {
                    String error = JSON.readTree(line).path("error").asText("");
                    return error.contains("Timeout") || error.contains("SdkClientException");
                } catch (Exception notJson) {
                    return false;
                }
            }
        }
        return false;
    }

    /**
     * A 2xx means durable: every listed user holds the asked state, and that state's delta is queued; and
     * the cohort carries the request's name, a rename's jobs all queued (the reconciler re-announces).
     */
    private void checkDurable(Request r) {
        checkNameDurable(r);
        if (r.users().isEmpty()) {
            return;
        }
        Map<String, Membership> state = env.read(r.cohort().ref, r.users());
        for (String u : r.users()) {
            Membership m = state.getOrDefault(u, Membership.ABSENT);
            if (m.member() != r.desiredMember()) {
                violation("2xx-before-durable", r.action() + " answered 2xx but a listed user is " + m);
            } else if (m.version() > 0 && !env.ledger.isQueued(new DeltaLedger.ChangeKey(r.cohort().ref, u,
                    m.version(), m.member()))) {
                violation("2xx-before-durable", r.action() + " answered 2xx for a committed " + m
                        + " whose delta was never queued");
            }
        }
    }

    private void checkNameDurable(Request r) {
        Optional<CohortState> state = env.cohortState(r.cohort().ref);
        if (state.isEmpty()) {
            violation("2xx-before-durable", r.action() + " answered 2xx for a cohort that is not stored");
            return;
        }
        CohortState s = state.get();
        if (!s.name().equals(r.name())) {
            violation("2xx-before-durable", r.action() + " answered 2xx but cohort " + r.cohort().id
                    + " is stored under another name (name version " + s.nameVersion() + ")");
        }
        if (s.nameVersion() > 1) {
            int shards = env.jobLedger.shardsQueued(ReconcileJob.Kind.RENAME, r.cohort().id, s.nameVersion(), null);
            if (shards != Shards.COUNT) {
                violation("2xx-before-durable", r.action() + " answered 2xx with cohort " + r.cohort().id
                        + " at name version " + s.nameVersion() + " but only " + shards + " of its rename jobs queued");
            }
        }
    }

    /**
     * Once every page of a session was answered 2xx the session is complete: its outcome is stored, the
     * cohort reached its epoch, and one count job per shard was queued (the reconciler exits the absent).
     */
    private void checkSessionDurable(Export e) {
        Optional<SessionOutcome> outcome = env.outcome(e.cohort.ref, e.sessionId);
        if (outcome.isEmpty()) {
            violation("2xx-before-durable", "every page of full sync " + e.sessionId + " answered 2xx but the"
                    + " session was never completed");
            return;
        }
        long epoch = outcome.get().epoch();
        CohortState state = env.cohortState(e.cohort.ref).orElse(null);
        if (state == null || state.epoch() < epoch) {
            violation("2xx-before-durable", "session " + e.sessionId + " is complete at epoch " + epoch
                    + " but the cohort is not");
        }
        int shards = env.jobLedger.shardsQueued(ReconcileJob.Kind.EXIT_COUNT, e.cohort.id, epoch, e.sessionId);
        if (shards != Shards.COUNT) {
            violation("2xx-before-durable", "session " + e.sessionId + " is complete but only " + shards
                    + " of its exit count jobs were queued");
        }
    }

    private void violation(String kind, String detail) {
        stats.violation(seed, kind, detail);
    }

    static <T> void shuffle(List<T> list, SplittableRandom rng) {
        for (int i = list.size() - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            T t = list.get(i);
            list.set(i, list.get(j));
            list.set(j, t);
        }
    }

    static void join(Thread t) {
        try {
            t.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }
}
