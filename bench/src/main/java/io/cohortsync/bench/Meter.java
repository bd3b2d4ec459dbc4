package io.cohortsync.bench;

import io.cohortsync.aws.Keys;
import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.SdkResponse;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemResponse;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * Prices every AWS call the way AWS bills it. An SDK global interceptor (registered by this module's
 * classpath resource, like the testkit's request counter), so it sees the production clients and
 * adapters without any hook in production code.
 * <ul>
 *   <li>DynamoDB: read and write request units by DynamoDB's rules, from item sizes. moto does return
 *       {@code ConsumedCapacity} when asked, but with constants (1.0 per PutItem or Query page whatever
 *       its size, 1.0 per BatchGetItem key whatever the consistency), so it is not used. Item sizes come
 *       from a shadow of every item written through the SDK in this JVM, so a read is priced on the
 *       whole stored item even when a projection returns part of it, and a Query on every item it
 *       evaluated, filtered out or not.</li>
 *   <li>SQS: billed requests, one per started 64 KiB of payload (bodies and message attributes) for
 *       sends and receives, one per call otherwise.</li>
 * </ul>
 */
public final class Meter implements ExecutionInterceptor {
    static final int WRITE_UNIT_BYTES = 1024;
    static final int READ_UNIT_BYTES = 4096;
    static final int SQS_CHUNK_BYTES = 64 * 1024;

    private static final DoubleAdder READ_UNITS = new DoubleAdder();
    private static final DoubleAdder WRITE_UNITS = new DoubleAdder();
    private static final DoubleAdder MEMBERSHIP_WRITE_UNITS = new DoubleAdder();
    private static final DoubleAdder SESSION_WRITE_UNITS = new DoubleAdder();
    private static final LongAdder MEMBERSHIP_PUTS = new LongAdder();
    private static final LongAdder SESSION_PUTS = new LongAdder();
    private static final LongAdder FAILED_CONDITIONS = new LongAdder();
    private static final LongAdder SHADOW_MISMATCHES = new LongAdder();
    private static final Map<String, DoubleAdder> READ_UNITS_BY_OP = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> SQS_BILLED_BY_OP = new ConcurrentHashMap<>();
    private static final LongAdder SQS_MESSAGES_SENT = new LongAdder();
    private static final LongAdder SQS_BYTES_SENT = new LongAdder();
    private static final LongAdder SQS_MESSAGES_RECEIVED = new LongAdder();
    /** table + pk → sk → item size in bytes: what the emulator holds, as written through the SDK. */
    private static final Map<String, NavigableMap<String, Integer>> SHADOW = new ConcurrentHashMap<>();

    /** What was billed up to now; subtract two readings to price a phase. */
    public record Reading(double readUnits, double writeUnits, double membershipWriteUnits,
                          double sessionWriteUnits, long membershipPuts, long sessionPuts,
                          long failedConditionalPuts, Map<String, Double> readUnitsByOp,
                          Map<String, Long> sqsBilledByOp, long sqsMessagesSent, long sqsPayloadBytesSent,
                          long sqsMessagesReceived, long shadowMismatches) {

        public long sqsBilledRequests() {
            return sqsBilledByOp.values().stream().mapToLong(Long::longValue).sum();
        }

        public Reading minus(Reading o) {
            Map<String, Double> reads = new TreeMap<>(readUnitsByOp);
            o.readUnitsByOp.forEach((k, v) -> reads.merge(k, -v, Double::sum));
            reads.values().removeIf(v -> Math.abs(v) < 1e-9);
            Map<String, Long> sqs = new TreeMap<>(sqsBilledByOp);
            o.sqsBilledByOp.forEach((k, v) -> sqs.merge(k, -v, Long::sum));
            sqs.values().removeIf(v -> v == 0);
            return new Reading(readUnits - o.readUnits, writeUnits - o.writeUnits,
                    membershipWriteUnits - o.membershipWriteUnits, sessionWriteUnits - o.sessionWriteUnits,
                    membershipPuts - o.membershipPuts, sessionPuts - o.sessionPuts,
                    failedConditionalPuts - o.failedConditionalPuts, reads, sqs, sqsMessagesSent - o.sqsMessagesSent,
                    sqsPayloadBytesSent - o.sqsPayloadBytesSent, sqsMessagesReceived - o.sqsMessagesReceived,
                    shadowMismatches - o.shadowMismatches);
        }
    }

    public static Reading read() {
        Map<String, Double> reads = new TreeMap<>();
        READ_UNITS_BY_OP.forEach((k, v) -> reads.put(k, v.sum()));
        Map<String, Long> sqs = new TreeMap<>();
        SQS_BILLED_BY_OP.forEach((k, v) -> sqs.put(k, v.sum()));
        return new Reading(READ_UNITS.sum(), WRITE_UNITS.sum(), MEMBERSHIP_WRITE_UNITS.sum(),
                SESSION_WRITE_UNITS.sum(), MEMBERSHIP_PUTS.sum(), SESSION_PUTS.sum(), FAILED_CONDITIONS.sum(),
                reads, sqs, SQS_MESSAGES_SENT.sum(), SQS_BYTES_SENT.sum(), SQS_MESSAGES_RECEIVED.sum(),
                SHADOW_MISMATCHES.sum());
    }

    @Override
    public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
        String op = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + "."
                + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        SdkRequest request = context.request();
        SdkResponse response = context.response();
        switch (request) {
            case PutItemRequest put -> put(put, op, false);
            case BatchWriteItemRequest batch -> batch.requestItems().forEach((table, writes) -> {
                for (WriteRequest w : writes) {
                    if (w.putRequest() != null) {
                        write(table, w.putRequest().item(), false);
                    }
                }
            });
            case GetItemRequest get -> readUnits(op, units(size(get.tableName(), get.key()),
                    Boolean.TRUE.equals(get.consistentRead())));
            case BatchGetItemRequest batch -> batchGet(batch, (BatchGetItemResponse) response, op);
            case QueryRequest query -> query(query, (QueryResponse) response, op);
            case SendMessageBatchRequest send -> {
                long bytes = send.entries().stream().mapToLong(Meter::payload).sum();
                sqsBilled(op, chunks(bytes));
                SQS_MESSAGES_SENT.add(send.entries().size());
                SQS_BYTES_SENT.add(bytes);
            }
            case SendMessageRequest send -> {
                long bytes = ItemSize.utf8(send.messageBody()) + attributes(send.messageAttributes());
                sqsBilled(op, chunks(bytes));
                SQS_MESSAGES_SENT.increment();
                SQS_BYTES_SENT.add(bytes);
            }
            default -> {
                if (response instanceof ReceiveMessageResponse received) {
                    long bytes = received.messages().stream().mapToLong(Meter::payload).sum();
                    sqsBilled(op, chunks(bytes));
                    SQS_MESSAGES_RECEIVED.add(received.messages().size());
                } else if (op.startsWith("Sqs.")) {
                    sqsBilled(op, 1);
                }
            }
        }
    }

    /** A conditional write whose condition failed is billed like one that succeeded. */
    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
        if (context.request() instanceof PutItemRequest put && context.exception() instanceof ConditionalCheckFailedException) {
            FAILED_CONDITIONS.increment();
            put(put, "DynamoDb.PutItem", true);
        }
    }

    private static void put(PutItemRequest put, String op, boolean failed) {
        double units = write(put.tableName(), put.item(), failed);
        String pk = put.item().get(Keys.PK) == null ? "" : put.item().get(Keys.PK).s();
        if (pk.startsWith("M#")) {
            MEMBERSHIP_WRITE_UNITS.add(units);
            MEMBERSHIP_PUTS.increment();
        } else if (pk.startsWith("S#")) {
            SESSION_WRITE_UNITS.add(units);
            SESSION_PUTS.increment();
        }
    }

    /** Units of one item write: the larger of the old and the new item, per started KB, at least one. */
    private static double write(String table, Map<String, AttributeValue> item, boolean failed) {
        int size = ItemSize.of(item);
        NavigableMap<String, Integer> partition = partition(table, item);
        String sk = sk(item);
        Integer old = partition.get(sk);
        double units = Math.max(1, ceilDiv(Math.max(size, old == null ? 0 : old), WRITE_UNIT_BYTES));
        WRITE_UNITS.add(units);
        if (!failed) {
            partition.put(sk, size);
        }
        return units;
    }

    /** Each key is read as its own GetItem: rounded up to 4 KB, a missing item still costs one unit. */
    private static void batchGet(BatchGetItemRequest request, BatchGetItemResponse response, String op) {
        double units = 0;
        for (Map.Entry<String, KeysAndAttributes> e : request.requestItems().entrySet()) {
            String table = e.getKey();
            boolean consistent = Boolean.TRUE.equals(e.getValue().consistentRead());
            Set<Map<String, AttributeValue>> unprocessed = response.hasUnprocessedKeys()
                    && response.unprocessedKeys().containsKey(table)
                    ? Set.copyOf(response.unprocessedKeys().get(table).keys()) : Set.of();
            for (Map<String, AttributeValue> key : e.getValue().keys()) {
                if (!unprocessed.contains(key)) {
                    units += units(size(table, key), consistent);
                }
            }
        }
        readUnits(op, units);
    }

    /**
     * A Query page is one read of the total size of every item it evaluated (before any filter), rounded
     * up to 4 KB. The evaluated items are the shadow's items of the partition between the start key and
     * the last evaluated key (with the sort-key prefix, when the key condition has one).
     */
    private static void query(QueryRequest request, QueryResponse response, String op) {
        Map<String, AttributeValue> values = request.expressionAttributeValues();
        AttributeValue pk = values.get(":pk");
        String condition = request.keyConditionExpression() == null ? "" : request.keyConditionExpression();
        AttributeValue prefix = condition.contains("begins_with") ? values.get(":prefix") : null;
        boolean consistent = Boolean.TRUE.equals(request.consistentRead());
        long bytes = 0;
        int evaluated = 0;
        if (pk != null) {
            NavigableMap<String, Integer> range = SHADOW.getOrDefault(request.tableName() + "\u0000" + pk.s(),
                    new TreeMap<>());
            if (request.hasExclusiveStartKey() && request.exclusiveStartKey().get(Keys.SK) != null) {
                range = range.tailMap(request.exclusiveStartKey().get(Keys.SK).s(), false);
            }
            if (response.hasLastEvaluatedKey() && response.lastEvaluatedKey().get(Keys.SK) != null) {
                range = range.headMap(response.lastEvaluatedKey().get(Keys.SK).s(), true);
            }
            for (Map.Entry<String, Integer> item : range.entrySet()) {
                if (prefix == null || item.getKey().startsWith(prefix.s())) {
                    bytes += item.getValue();
                    evaluated++;
                }
            }
        }
        if (pk == null || evaluated != response.scannedCount()) {
            // The shadow does not know these items (written outside this JVM): price what came back.
            SHADOW_MISMATCHES.increment();
            bytes = response.items().stream().mapToLong(ItemSize::of).sum();
        }
        double units = Math.max(1, ceilDiv(bytes, READ_UNIT_BYTES)) * (consistent ? 1.0 : 0.5);
        readUnits(op, units);
    }

    private static double units(int itemBytes, boolean consistent) {
        return Math.max(1, ceilDiv(itemBytes, READ_UNIT_BYTES)) * (consistent ? 1.0 : 0.5);
    }

    private static int size(String table, Map<String, AttributeValue> key) {
        Integer size = SHADOW.getOrDefault(table + "\u0000" + key.get(Keys.PK).s(), new TreeMap<>()).get(sk(key));
        return size == null ? 0 : size;
    }

    private static NavigableMap<String, Integer> partition(String table, Map<String, AttributeValue> item) {
        AttributeValue pk = item.get(Keys.PK);
        return SHADOW.computeIfAbsent(table + "\u0000" + (pk == null ? "" : pk.s()), k -> new ConcurrentSkipListMap<>());
    }

    private static String sk(Map<String, AttributeValue> item) {
        AttributeValue sk = item.get(Keys.SK);
        return sk == null ? "" : sk.s();
    }

    private static void readUnits(String op, double units) {
        READ_UNITS.add(units);
        READ_UNITS_BY_OP.computeIfAbsent(op, k -> new DoubleAdder()).add(units);
    }

    private static void sqsBilled(String op, long requests) {
        SQS_BILLED_BY_OP.computeIfAbsent(op, k -> new LongAdder()).add(requests);
    }

    /** SQS bills each started 64 KiB of a request's payload as one request. */
    static long chunks(long payloadBytes) {
        return Math.max(1, ceilDiv(payloadBytes, SQS_CHUNK_BYTES));
    }

    private static long payload(SendMessageBatchRequestEntry e) {
        return ItemSize.utf8(e.messageBody()) + attributes(e.messageAttributes());
    }

    private static long payload(Message m) {
        return ItemSize.utf8(m.body()) + attributes(m.messageAttributes());
    }

    private static long attributes(Map<String, MessageAttributeValue> attributes) {
        long bytes = 0;
        for (Map.Entry<String, MessageAttributeValue> a : attributes.entrySet()) {
            bytes += ItemSize.utf8(a.getKey()) + ItemSize.utf8(a.getValue().dataType())
                    + (a.getValue().stringValue() == null ? 0 : ItemSize.utf8(a.getValue().stringValue()));
        }
        return bytes;
    }

    static long ceilDiv(long a, long b) {
        return (a + b - 1) / b;
    }

    /** For tests: forget every item and count. */
    static void resetForTests() {
        SHADOW.clear();
    }
}
