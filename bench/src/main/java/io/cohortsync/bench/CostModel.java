package io.cohortsync.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Dollars from measured counts and bench/prices.json. Everything is a count times a price except
 * Lambda duration, which is billed by time: it is modelled per invocation as its CPU time (a
 * {@link CpuEstimate}, stretched to the vCPU share the memory size buys) plus, for every call the
 * invocation made, the latency model's round trip (commits overlap {@code COMMIT_CONCURRENCY} at a
 * time). The duration measured here against moto is reported next to it as an upper bound.
 */
final class CostModel {
    /** Lambda gives a function one full vCPU at 1,769 MB, proportionally less below. */
    static final double FULL_VCPU_MB = 1769;
    static final double API_GATEWAY_METER_BYTES = 512 * 1024;
    static final double LOG_GB = 1024.0 * 1024 * 1024;

    /** The CPU time an invocation would spend on Lambda, before the vCPU-share stretch. */
    @FunctionalInterface
    interface CpuEstimate {
        double cpuMs(Phase phase, Invocation invocation);
    }

    /** The process CPU time measured during the invocation against moto. */
    static final CpuEstimate MEASURED = (phase, invocation) -> invocation.cpuMs();

    private final Prices prices;
    private final int memoryMb;
    private final int commitConcurrency;
    private final CpuEstimate cpu;

    CostModel(Prices prices, int memoryMb, int commitConcurrency) {
        this(prices, memoryMb, commitConcurrency, MEASURED);
    }

    CostModel(Prices prices, int memoryMb, int commitConcurrency, CpuEstimate cpu) {
        this.prices = prices;
        this.memoryMb = memoryMb;
        this.commitConcurrency = commitConcurrency;
        this.cpu = cpu;
    }

    /** Dollars by line item; {@link #total} adds them up. */
    record Cost(Map<String, Double> lines, double lambdaGbSeconds, double lambdaGbSecondsMeasured,
                double lambdaDurationMeasuredUsd) {
        double total() {
            return lines.values().stream().mapToDouble(Double::doubleValue).sum();
        }

        /** The total with Lambda duration billed at the wall time measured against moto instead. */
        double totalWithMeasuredDuration() {
            return total() - lines.getOrDefault("Lambda duration", 0.0) + lambdaDurationMeasuredUsd;
        }

        double perMillion(long changes) {
            return changes == 0 ? 0 : total() / changes * 1e6;
        }
    }

    Cost of(Phase phase) {
        Map<String, Double> lines = new LinkedHashMap<>();
        Meter.Reading b = phase.billing();
        lines.put("DynamoDB writes", b.writeUnits() * prices.of("dynamodb_write_request_unit"));
        lines.put("DynamoDB reads", b.readUnits() * prices.of("dynamodb_read_request_unit"));
        lines.put("SQS", b.sqsBilledRequests() * prices.of("sqs_standard_request"));
        int invocations = phase.invocations().size();
        lines.put("Lambda requests", invocations * prices.of("lambda_request"));
        double gbs = 0;
        double gbsMeasured = 0;
        for (Invocation i : phase.invocations()) {
            gbs += gbSeconds(modeledMs(i, cpu.cpuMs(phase, i)));
            gbsMeasured += gbSeconds(Math.ceil(i.wallMs()));
        }
        lines.put("Lambda duration", gbs * prices.of("lambda_arm64_gb_second"));
        lines.put("Secrets Manager", phase.calls().getOrDefault("SecretsManager.GetSecretValue", 0L)
                * prices.of("secrets_manager_api_call"));
        double apiRequests = phase.webhook().stream()
                .mapToDouble(i -> Math.max(1, Math.ceil(i.requestBytes() / API_GATEWAY_METER_BYTES))).sum();
        lines.put("API Gateway", apiRequests * prices.of("api_gateway_http_api_request"));
        double logBytes = phase.logBytes() + invocations * prices.platformLogBytes();
        lines.put("CloudWatch Logs", logBytes / LOG_GB * prices.of("cloudwatch_logs_ingestion_gb"));
        return new Cost(lines, gbs, gbsMeasured, gbsMeasured * prices.of("lambda_arm64_gb_second"));
    }

    /** Billed milliseconds of one invocation under the latency model, with its measured CPU time. */
    double modeledMs(Invocation i) {
        return modeledMs(i, i.cpuMs());
    }

    double modeledMs(Phase phase, Invocation i) {
        return modeledMs(i, cpu.cpuMs(phase, i));
    }

    /**
     * Billed milliseconds of one invocation under the latency model. Membership writes (commits, exits,
     * marks, re-announcements: PutItem or UpdateItem) go {@code COMMIT_CONCURRENCY} at a time; every
     * other call waits its own round trip, one after another.
     */
    double modeledMs(Invocation i, double cpuMs) {
        double wait = 0;
        for (Map.Entry<String, Long> call : i.calls().entrySet()) {
            if (!call.getKey().equals("DynamoDb.PutItem") && !call.getKey().equals("DynamoDb.UpdateItem")) {
                wait += call.getValue() * prices.latency(call.getKey());
            }
        }
        long puts = i.calls("DynamoDb.PutItem");
        long updates = i.calls("DynamoDb.UpdateItem");
        long concurrent = Math.min(puts + updates, i.billing().membershipWrites());
        long sequentialPuts = Math.max(0, puts - concurrent);
        long sequentialUpdates = Math.max(0, updates - Math.max(0, concurrent - puts));
        wait += sequentialPuts * prices.latency("DynamoDb.PutItem")
                + sequentialUpdates * prices.latency("DynamoDb.UpdateItem")
                + Math.ceil((double) concurrent / commitConcurrency) * prices.latency("DynamoDb.PutItem");
        wait += i.segmentRequests() * prices.latency("Segment./v1/batch");
        return Math.ceil(cpuMs * cpuStretch() + wait);
    }

    double cpuStretch() {
        return Math.max(1, FULL_VCPU_MB / memoryMb);
    }

    private double gbSeconds(double billedMs) {
        return billedMs / 1000.0 * memoryMb / 1024.0;
    }

    /** One DynamoDB write unit per real change, nothing else. */
    double floorPerMillion() {
        return prices.of("dynamodb_write_request_unit") * 1e6;
    }

    /**
     * The naive design on the same workload: per listed member one SQS message (sent alone, received
     * and deleted ten at a time by the event source mapping), one GetItem (eventually consistent) and
     * one PutItem; per change one Segment request. Webhook pages call sequentially; the sender makes one
     * Segment call per change. Lambda CPU and log volume are taken as ours, per invocation.
     */
    Cost naive(Phase phase) {
        Map<String, Double> lines = new LinkedHashMap<>();
        long members = phase.members();
        long changes = phase.changes();
        int pages = phase.pages();
        lines.put("DynamoDB writes", members * prices.of("dynamodb_write_request_unit"));
        lines.put("DynamoDB reads", members * 0.5 * prices.of("dynamodb_read_request_unit"));
        double senderInvocations = Math.ceil(members / 10.0);
        double sqsRequests = members + 2 * senderInvocations; // send each; receive and delete per batch of 10
        lines.put("SQS", sqsRequests * prices.of("sqs_standard_request"));
        lines.put("Lambda requests", (pages + senderInvocations) * prices.of("lambda_request"));
        double webhookCpu = phase.webhook().stream().mapToDouble(i -> cpu.cpuMs(phase, i)).sum() * cpuStretch();
        double webhookWait = members * (prices.latency("DynamoDb.GetItem") + prices.latency("DynamoDb.PutItem")
                + prices.latency("Sqs.SendMessage"));
        double senderCpu = phase.sender().stream().mapToDouble(i -> cpu.cpuMs(phase, i)).sum() * cpuStretch();
        double senderWait = changes * (prices.latency("Segment./v1/batch"));
        double gbs = gbSeconds(webhookCpu + webhookWait + senderCpu + senderWait);
        lines.put("Lambda duration", gbs * prices.of("lambda_arm64_gb_second"));
        lines.put("Secrets Manager", phase.calls().getOrDefault("SecretsManager.GetSecretValue", 0L)
                * prices.of("secrets_manager_api_call"));
        lines.put("API Gateway", pages * prices.of("api_gateway_http_api_request"));
        double perWebhook = phase.webhook().isEmpty() ? 0
                : phase.webhook().stream().mapToLong(Invocation::logBytes).average().orElse(0);
        double perSender = phase.sender().isEmpty() ? perWebhook
                : phase.sender().stream().mapToLong(Invocation::logBytes).average().orElse(0);
        double logBytes = pages * (perWebhook + prices.platformLogBytes())
                + senderInvocations * (perSender + prices.platformLogBytes());
        lines.put("CloudWatch Logs", logBytes / LOG_GB * prices.of("cloudwatch_logs_ingestion_gb"));
        return new Cost(lines, gbs, 0, 0);
    }
}
