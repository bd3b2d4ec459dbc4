package io.cohortsync.testkit;

import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Counts every AWS API call (each attempt, retries included) by {@code Service.Operation}. Registered
 * as an SDK global interceptor by the testkit's classpath resource, so it sees the production
 * clients without any hook in production code.
 */
public final class AwsRequestCounter implements ExecutionInterceptor {
    private static final Map<String, AtomicLong> COUNTS = new ConcurrentHashMap<>();

    @Override
    public void beforeTransmission(Context.BeforeTransmission context, ExecutionAttributes attributes) {
        String key = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + "."
                + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        COUNTS.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
    }

    public static void reset() {
        COUNTS.clear();
    }

    /** A sorted snapshot, e.g. {@code {DynamoDb.BatchGetItem=10, Sqs.SendMessageBatch=1}}. */
    public static Map<String, Long> snapshot() {
        Map<String, Long> copy = new TreeMap<>();
        COUNTS.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    public static long count(String serviceDotOperation) {
        AtomicLong n = COUNTS.get(serviceDotOperation);
        return n == null ? 0 : n.get();
    }
}
