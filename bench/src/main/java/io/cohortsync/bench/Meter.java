package io.cohortsync.bench;

import io.cohortsync.aws.Keys;
import io.cohortsync.domain.Shards;
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
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemResponse;
import software.amazon.awssdk.services.dynamodb.model.ConditionalCheckFailedException;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.KeysAndAttributes;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryRequest;
import software.amazon.awssdk.services.dynamodb.model.QueryResponse;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItem;
import software.amazon.awssdk.services.dynamodb.model.TransactWriteItemsRequest;
import software.amazon.awssdk.services.dynamodb.model.TransactionCanceledException;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;
import software.amazon.awssdk.services.dynamodb.model.WriteRequest;
import software.amazon.awssdk.services.sqs.model.Message;
import software.amazon.awssdk.services.sqs.model.MessageAttributeValue;
import software.amazon.awssdk.services.sqs.model.ReceiveMessageResponse;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequest;
import software.amazon.awssdk.services.sqs.model.SendMessageBatchRequestEntry;
import software.amazon.awssdk.services.sqs.model.SendMessageRequest;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Prices every AWS call the way AWS bills it. An SDK global interceptor (registered by this module's
 * classpath resource, like the testkit's request counter), so it sees the production clients and
 * adapters without any hook in production code.
 * <ul>
 *   <li>DynamoDB: read and write request units by {@link DynamoBilling}'s rules, from item sizes, by
 *       {@link ItemKind} (membership shards {@code M#<project>#<cohort>#<shard>}, session receipts and
 *       per-shard id pieces {@code I#<shard>#…}, the cohort item {@code C#}, reconcile checkpoints and
 *       summaries {@code R#}, history {@code H#}). moto does return {@code ConsumedCapacity} when asked,
 *       but with constants (1.0 per PutItem or Query page whatever its size, 1.0 per BatchGetItem key
 *       whatever the consistency), so it is not used. Item sizes come from a shadow of every item
 *       written through the SDK in this JVM (PutItem, BatchWriteItem, UpdateItem with its update
 *       expression applied, TransactWriteItems, DeleteItem), so a read is priced on the whole stored
 *       item even when a projection returns part of it, and a Query on every item it read.</li>
 *   <li>SQS: billed requests, one per started 64 KiB of payload (bodies and message attributes) for
 *       sends and receives, one per call otherwise.</li>
 * </ul>
 */
public final class Meter implements ExecutionInterceptor {
    static final int SQS_CHUNK_BYTES = 64 * 1024;

    private static final DoubleAdder READ_UNITS = new DoubleAdder();
    private static final DoubleAdder WRITE_UNITS = new DoubleAdder();
    private static final Map<ItemKind, DoubleAdder> WRITE_UNITS_BY_KIND = adders(DoubleAdder::new);
    private static final Map<ItemKind, LongAdder> WRITES_BY_KIND = adders(LongAdder::new);
    private static final Map<ItemKind, DoubleAdder> READ_UNITS_BY_KIND = adders(DoubleAdder::new);
    private static final LongAdder FAILED_CONDITIONS = new LongAdder();
    private static final LongAdder SHADOW_MISMATCHES = new LongAdder();
    private static final Map<String, DoubleAdder> READ_UNITS_BY_OP = new ConcurrentHashMap<>();
    private static final Map<String, LongAdder> SQS_BILLED_BY_OP = new ConcurrentHashMap<>();
    private static final LongAdder SQS_MESSAGES_SENT = new LongAdder();
    private static final LongAdder SQS_JOB_MESSAGES_SENT = new LongAdder();
    private static final LongAdder SQS_BYTES_SENT = new LongAdder();
    private static final LongAdder SQS_MESSAGES_RECEIVED = new LongAdder();
    /** table + pk → sk → item: what the emulator holds, as written through the SDK. */
    private static final Map<String, NavigableMap<String, Map<String, AttributeValue>>> SHADOW = new ConcurrentHashMap<>();

    private static <T> Map<ItemKind, T> adders(Supplier<T> make) {
        Map<ItemKind, T> m = new EnumMap<>(ItemKind.class);
        for (ItemKind k : ItemKind.values()) {
            m.put(k, make.get());
        }
        return m;
    }

    /**
     * What was billed up to now; subtract two readings to price a phase.
     *
     * @param writesByKind        write requests by item kind (each item of a batch or transaction counts
     *                            once), failed conditional writes included
     * @param sqsJobMessagesSent  of {@code sqsMessagesSent}, those sent to a reconcile queue (jobs, not deltas)
     */
    public record Reading(double readUnits, double writeUnits, Map<ItemKind, Double> writeUnitsByKind,
                          Map<ItemKind, Long> writesByKind, Map<ItemKind, Double> readUnitsByKind,
                          long failedConditionalWrites, Map<String, Double> readUnitsByOp,
                          Map<String, Long> sqsBilledByOp, long sqsMessagesSent, long sqsJobMessagesSent,
                          long sqsPayloadBytesSent, long sqsMessagesReceived, long shadowMismatches) {
        public static final Reading ZERO = new Reading(0, 0, Map.of(), Map.of(), Map.of(), 0, Map.of(), Map.of(), 0, 0, 0,
                0, 0);

        /** Messages sent to a delta queue: deltas announced (or re-queued), not reconcile jobs. */
        public long deltaMessagesSent() {
            return sqsMessagesSent - sqsJobMessagesSent;
        }

        public long sqsBilledRequests() {
            return sqsBilledByOp.values().stream().mapToLong(Long::longValue).sum();
        }

        public double writeUnits(ItemKind kind) {
            return writeUnitsByKind.getOrDefault(kind, 0.0);
        }

        public long writes(ItemKind kind) {
            return writesByKind.getOrDefault(kind, 0L);
        }

        public double readUnits(ItemKind kind) {
            return readUnitsByKind.getOrDefault(kind, 0.0);
        }

        /** Writes of membership items (commits, exits, marks, re-announcements), failed conditions included. */
        public long membershipWrites() {
            return writes(ItemKind.MEMBERSHIP) + writes(ItemKind.LEGACY_MEMBERSHIP);
        }

        public double membershipWriteUnits() {
            return writeUnits(ItemKind.MEMBERSHIP) + writeUnits(ItemKind.LEGACY_MEMBERSHIP);
        }

        /** Writes of session items: page receipts, id pieces, outcomes. */
        public long sessionWrites() {
            return writesByKind.entrySet().stream().filter(e -> e.getKey().isSession()).mapToLong(Map.Entry::getValue).sum();
        }

        public double sessionWriteUnits() {
            return writeUnitsByKind.entrySet().stream().filter(e -> e.getKey().isSession())
                    .mapToDouble(Map.Entry::getValue).sum();
        }

        public Reading minus(Reading o) {
            return new Reading(readUnits - o.readUnits, writeUnits - o.writeUnits,
                    minusDouble(writeUnitsByKind, o.writeUnitsByKind), minusLong(writesByKind, o.writesByKind),
                    minusDouble(readUnitsByKind, o.readUnitsByKind), failedConditionalWrites - o.failedConditionalWrites,
                    minusDouble(readUnitsByOp, o.readUnitsByOp), minusLong(sqsBilledByOp, o.sqsBilledByOp),
                    sqsMessagesSent - o.sqsMessagesSent, sqsJobMessagesSent - o.sqsJobMessagesSent,
                    sqsPayloadBytesSent - o.sqsPayloadBytesSent,
                    sqsMessagesReceived - o.sqsMessagesReceived, shadowMismatches - o.shadowMismatches);
        }

        /** The sum of two readings (a phase's invocations). */
        public Reading plus(Reading o) {
            Reading negated = new Reading(-o.readUnits, -o.writeUnits, negateDouble(o.writeUnitsByKind),
                    negateLong(o.writesByKind), negateDouble(o.readUnitsByKind), -o.failedConditionalWrites,
                    negateDouble(o.readUnitsByOp), negateLong(o.sqsBilledByOp), -o.sqsMessagesSent,
                    -o.sqsJobMessagesSent, -o.sqsPayloadBytesSent, -o.sqsMessagesReceived, -o.shadowMismatches);
            return minus(negated);
        }

        private static <K> Map<K, Double> minusDouble(Map<K, Double> a, Map<K, Double> b) {
            Map<K, Double> r = new HashMap<>(a);
            b.forEach((k, v) -> r.merge(k, -v, Double::sum));
            r.values().removeIf(v -> Math.abs(v) < 1e-9);
            return sorted(r);
        }

        private static <K> Map<K, Long> minusLong(Map<K, Long> a, Map<K, Long> b) {
            Map<K, Long> r = new HashMap<>(a);
            b.forEach((k, v) -> r.merge(k, -v, Long::sum));
            r.values().removeIf(v -> v == 0);
            return sorted(r);
        }

        private static <K> Map<K, Double> negateDouble(Map<K, Double> a) {
            Map<K, Double> r = new HashMap<>();
            a.forEach((k, v) -> r.put(k, -v));
            return r;
        }

        private static <K> Map<K, Long> negateLong(Map<K, Long> a) {
            Map<K, Long> r = new HashMap<>();
            a.forEach((k, v) -> r.put(k, -v));
            return r;
        }

        @SuppressWarnings("unchecked")
        private static <K, V> Map<K, V> sorted(Map<K, V> m) {
            return new TreeMap<>(m);
        }
    }

    public static Reading read() {
        Map<String, Double> reads = new TreeMap<>();
        READ_UNITS_BY_OP.forEach((k, v) -> reads.put(k, v.sum()));
        Map<String, Long> sqs = new TreeMap<>();
        SQS_BILLED_BY_OP.forEach((k, v) -> sqs.put(k, v.sum()));
        Map<ItemKind, Double> wuByKind = new TreeMap<>();
        WRITE_UNITS_BY_KIND.forEach((k, v) -> {
            if (v.sum() != 0) {
                wuByKind.put(k, v.sum());
            }
        });
        Map<ItemKind, Long> wByKind = new TreeMap<>();
        WRITES_BY_KIND.forEach((k, v) -> {
            if (v.sum() != 0) {
                wByKind.put(k, v.sum());
            }
        });
        Map<ItemKind, Double> ruByKind = new TreeMap<>();
        READ_UNITS_BY_KIND.forEach((k, v) -> {
            if (v.sum() != 0) {
                ruByKind.put(k, v.sum());
            }
        });
        return new Reading(READ_UNITS.sum(), WRITE_UNITS.sum(), wuByKind, wByKind, ruByKind, FAILED_CONDITIONS.sum(),
                reads, sqs, SQS_MESSAGES_SENT.sum(), SQS_JOB_MESSAGES_SENT.sum(), SQS_BYTES_SENT.sum(),
                SQS_MESSAGES_RECEIVED.sum(),
                SHADOW_MISMATCHES.sum());
    }

    @Override
    public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
        String op = attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME) + "."
                + attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
        SdkRequest request = context.request();
        SdkResponse response = context.response();
        switch (request) {
            case PutItemRequest put -> put(put.tableName(), put.item(), false, false);
            case UpdateItemRequest update -> update(update.tableName(), update.key(), update.updateExpression(),
                    update.expressionAttributeNames(), update.expressionAttributeValues(), false, false);
            case DeleteItemRequest delete -> delete(delete.tableName(), delete.key(), false, false);
            case BatchWriteItemRequest batch -> batchWrite(batch, (BatchWriteItemResponse) response);
            case TransactWriteItemsRequest tx -> transact(tx, false);
            case GetItemRequest get -> readUnits(op, kind(get.key()), DynamoBilling.read(size(get.tableName(), get.key()),
                    Boolean.TRUE.equals(get.consistentRead())));
            case BatchGetItemRequest batch -> batchGet(batch, (BatchGetItemResponse) response, op);
            case QueryRequest query -> query(query, (QueryResponse) response, op);
            case SendMessageBatchRequest send -> {
                long bytes = send.entries().stream().mapToLong(Meter::payload).sum();
                sqsBilled(op, chunks(bytes));
                SQS_MESSAGES_SENT.add(send.entries().size());
                if (isReconcileQueue(send.queueUrl())) {
                    SQS_JOB_MESSAGES_SENT.add(send.entries().size());
                }
                SQS_BYTES_SENT.add(bytes);
            }
            case SendMessageRequest send -> {
                long bytes = ItemSize.utf8(send.messageBody()) + attributes(send.messageAttributes());
                sqsBilled(op, chunks(bytes));
                SQS_MESSAGES_SENT.increment();
                if (isReconcileQueue(send.queueUrl())) {
                    SQS_JOB_MESSAGES_SENT.increment();
                }
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

    /** A conditional write whose condition failed is billed like one that succeeded, and changes nothing. */
    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
        Throwable failure = context.exception();
        if (failure instanceof ConditionalCheckFailedException) {
            FAILED_CONDITIONS.increment();
            switch (context.request()) {
                case PutItemRequest put -> put(put.tableName(), put.item(), true, false);
                case UpdateItemRequest u -> update(u.tableName(), u.key(), u.updateExpression(),
                        u.expressionAttributeNames(), u.expressionAttributeValues(), true, false);
                case DeleteItemRequest d -> delete(d.tableName(), d.key(), true, false);
                default -> {
                    // Only the writes above carry conditions.
                }
            }
        } else if (failure instanceof TransactionCanceledException && context.request() instanceof TransactWriteItemsRequest tx) {
            // A cancelled transaction still consumes the write units of its items.
            FAILED_CONDITIONS.increment();
            transact(tx, true);
        }
    }

    private static double put(String table, Map<String, AttributeValue> item, boolean failed, boolean transactional) {
        NavigableMap<String, Map<String, AttributeValue>> partition = partition(table, item);
        String sk = sk(item);
        Map<String, AttributeValue> old = partition.get(sk);
        double units = written(kind(item), old == null ? 0 : ItemSize.of(old), ItemSize.of(item), transactional);
        if (!failed) {
            partition.put(sk, Map.copyOf(item));
        }
        return units;
    }

    private static double update(String table, Map<String, AttributeValue> key, String expression,
                                 Map<String, String> names, Map<String, AttributeValue> values, boolean failed,
                                 boolean transactional) {
        NavigableMap<String, Map<String, AttributeValue>> partition = partition(table, key);
        String sk = sk(key);
        Map<String, AttributeValue> old = partition.get(sk);
        int oldBytes = old == null ? 0 : ItemSize.of(old);
        if (failed) {
            return written(kind(key), oldBytes, oldBytes, transactional);
        }
        Map<String, AttributeValue> next = UpdateExpressions.apply(old == null ? key : old, expression, names,
                values == null ? Map.of() : values);
        if (next == null) {
            // Not understood: bill the old item plus every value given (an upper bound) and say so.
            SHADOW_MISMATCHES.increment();
            int guess = oldBytes + (values == null ? 0 : values.values().stream().mapToInt(ItemSize::value).sum());
            return written(kind(key), oldBytes, guess, transactional);
        }
        next.putAll(key);
        partition.put(sk, Map.copyOf(next));
        return written(kind(key), oldBytes, ItemSize.of(next), transactional);
    }

    private static void delete(String table, Map<String, AttributeValue> key, boolean failed, boolean transactional) {
        NavigableMap<String, Map<String, AttributeValue>> partition = partition(table, key);
        Map<String, AttributeValue> old = partition.get(sk(key));
        written(kind(key), old == null ? 0 : ItemSize.of(old), 0, transactional);
        if (!failed) {
            partition.remove(sk(key));
        }
    }

    private static void batchWrite(BatchWriteItemRequest batch, BatchWriteItemResponse response) {
        Map<String, List<WriteRequest>> unprocessed = response != null && response.hasUnprocessedItems()
                ? response.unprocessedItems() : Map.of();
        batch.requestItems().forEach((table, writes) -> {
            Set<WriteRequest> skipped = Set.copyOf(unprocessed.getOrDefault(table, List.of()));
            for (WriteRequest w : writes) {
                if (skipped.contains(w)) {
                    continue; // not written: the adapter sends it again, and it is billed then
                }
                if (w.putRequest() != null) {
                    put(table, w.putRequest().item(), false, false);
                } else if (w.deleteRequest() != null) {
                    delete(table, w.deleteRequest().key(), false, false);
                }
            }
        });
    }

    /** Each item of a transaction costs twice its write; a cancelled transaction changes nothing. */
    private static void transact(TransactWriteItemsRequest tx, boolean failed) {
        for (TransactWriteItem item : tx.transactItems()) {
            if (item.put() != null) {
                put(item.put().tableName(), item.put().item(), failed, true);
            } else if (item.update() != null) {
                var u = item.update();
                update(u.tableName(), u.key(), u.updateExpression(), u.expressionAttributeNames(),
                        u.expressionAttributeValues(), failed, true);
            } else if (item.delete() != null) {
                delete(item.delete().tableName(), item.delete().key(), failed, true);
            } else if (item.conditionCheck() != null) {
                var c = item.conditionCheck();
                Map<String, AttributeValue> old = partition(c.tableName(), c.key()).get(sk(c.key()));
                int bytes = old == null ? 0 : ItemSize.of(old);
                written(kind(c.key()), bytes, bytes, true);
            }
        }
    }

    private static double written(ItemKind kind, long oldBytes, long newBytes, boolean transactional) {
        double units = transactional ? DynamoBilling.transactionalWrite(oldBytes, newBytes)
                : DynamoBilling.write(oldBytes, newBytes);
        WRITE_UNITS.add(units);
        WRITE_UNITS_BY_KIND.get(kind).add(units);
        WRITES_BY_KIND.get(kind).increment();
        return units;
    }

    /** Each key is read as its own GetItem: rounded up to 4 KB, a missing item still costs one unit. */
    private static void batchGet(BatchGetItemRequest request, BatchGetItemResponse response, String op) {
        for (Map.Entry<String, KeysAndAttributes> e : request.requestItems().entrySet()) {
            String table = e.getKey();
            boolean consistent = Boolean.TRUE.equals(e.getValue().consistentRead());
            Set<Map<String, AttributeValue>> unprocessed = response.hasUnprocessedKeys()
                    && response.unprocessedKeys().containsKey(table)
                    ? Set.copyOf(response.unprocessedKeys().get(table).keys()) : Set.of();
            for (Map<String, AttributeValue> key : e.getValue().keys()) {
                if (!unprocessed.contains(key)) {
                    readUnits(op, kind(key), DynamoBilling.read(size(table, key), consistent));
                }
            }
        }
    }

    /**
     * A Query page is one read of the total size of every item it read, rounded up to 4 KB. The items
     * read are the shadow's items of the partition that match the sort-key condition
     * ({@code begins_with(sk, :p)}, {@code sk BETWEEN :a AND :b}, {@code sk >= :a}, {@code sk <= :b}),
     * after the start key and up to the last evaluated key.
     */
    private static void query(QueryRequest request, QueryResponse response, String op) {
        Map<String, AttributeValue> values = request.expressionAttributeValues();
        String placeholder = pkPlaceholder(request.keyConditionExpression());
        AttributeValue pk = placeholder == null ? null : values.get(placeholder);
        boolean consistent = Boolean.TRUE.equals(request.consistentRead());
        long bytes = 0;
        int evaluated = 0;
        ItemKind kind = ItemKind.OTHER;
        if (pk != null) {
            List<Map.Entry<String, Map<String, AttributeValue>>> read = evaluated(request, response, pk.s());
            for (Map.Entry<String, Map<String, AttributeValue>> item : read) {
                bytes += ItemSize.of(item.getValue());
                evaluated++;
            }
            kind = ItemKind.of(pk.s(), read.isEmpty() ? prefixOf(request) : read.getFirst().getKey());
        }
        if (pk == null || evaluated != response.scannedCount()) {
            // The shadow does not know these items (written outside this JVM): price what came back.
            SHADOW_MISMATCHES.increment();
            bytes = response.items().stream().mapToLong(ItemSize::of).sum();
        }
        readUnits(op, kind, DynamoBilling.query(bytes, consistent));
    }

    private static final Pattern PK = Pattern.compile("pk\\s*=\\s*(:\\w+)");
    private static final Pattern PREFIX =
            Pattern.compile("begins_with\\(\\s*sk\\s*,\\s*(:\\w+)\\s*\\)");
    private static final Pattern BETWEEN =
            Pattern.compile("sk\\s+BETWEEN\\s+(:\\w+)\\s+AND\\s+(:\\w+)");
    private static final Pattern FROM = Pattern.compile("sk\\s*>=\\s*(:\\w+)");
    private static final Pattern TO = Pattern.compile("sk\\s*<=\\s*(:\\w+)");

    /** The sort-key prefix of a {@code begins_with} key condition, or "". */
    static String prefixOf(QueryRequest request) {
        Matcher m = PREFIX.matcher(request.keyConditionExpression() == null ? ""
                : request.keyConditionExpression());
        AttributeValue v = m.find() ? request.expressionAttributeValues().get(m.group(1)) : null;
        return v == null || v.s() == null ? "" : v.s();
    }

    /** The placeholder of the partition key in a key condition ({@code pk = :pk}), or null. */
    static String pkPlaceholder(String condition) {
        Matcher m = PK.matcher(condition == null ? "" : condition);
        return m.find() ? m.group(1) : null;
    }

    /**
     * The shadow's items a Query read: its partition, within its sort-key condition and page bounds, in
     * the order it read them ({@code ScanIndexForward=false} reads backwards).
     */
    static List<Map.Entry<String, Map<String, AttributeValue>>> evaluated(QueryRequest request, QueryResponse response,
                                                                         String pk) {
        Map<String, AttributeValue> values = request.expressionAttributeValues();
        String condition = request.keyConditionExpression() == null ? "" : request.keyConditionExpression();
        NavigableMap<String, Map<String, AttributeValue>> range = SHADOW.getOrDefault(request.tableName() + "\u0000" + pk,
                new ConcurrentSkipListMap<>(Shards::compareKeys));
        String prefix = null;
        Matcher m;
        if ((m = PREFIX.matcher(condition)).find()) {
            prefix = values.get(m.group(1)).s();
            range = range.tailMap(prefix, true);
        } else if ((m = BETWEEN.matcher(condition)).find()) {
            range = range.subMap(values.get(m.group(1)).s(), true, values.get(m.group(2)).s(), true);
        } else {
            if ((m = FROM.matcher(condition)).find()) {
                range = range.tailMap(values.get(m.group(1)).s(), true);
            }
            if ((m = TO.matcher(condition)).find()) {
                range = range.headMap(values.get(m.group(1)).s(), true);
            }
        }
        boolean forward = !Boolean.FALSE.equals(request.scanIndexForward());
        if (request.hasExclusiveStartKey() && request.exclusiveStartKey().get(Keys.SK) != null) {
            String start = request.exclusiveStartKey().get(Keys.SK).s();
            range = forward ? range.tailMap(start, false) : range.headMap(start, false);
        }
        if (response.hasLastEvaluatedKey() && response.lastEvaluatedKey().get(Keys.SK) != null) {
            String last = response.lastEvaluatedKey().get(Keys.SK).s();
            range = forward ? range.headMap(last, true) : range.tailMap(last, true);
        }
        List<Map.Entry<String, Map<String, AttributeValue>>> read = new ArrayList<>();
        for (Map.Entry<String, Map<String, AttributeValue>> item : (forward ? range : range.descendingMap()).entrySet()) {
            if (prefix != null && !item.getKey().startsWith(prefix)) {
                if (forward) {
                    break; // keys with the prefix are contiguous in key order
                }
                continue;
            }
            read.add(item);
        }
        return read;
    }

    private static int size(String table, Map<String, AttributeValue> key) {
        Map<String, AttributeValue> item = SHADOW.getOrDefault(table + "\u0000" + key.get(Keys.PK).s(),
                new ConcurrentSkipListMap<>(Shards::compareKeys)).get(sk(key));
        return item == null ? 0 : ItemSize.of(item);
    }

    private static NavigableMap<String, Map<String, AttributeValue>> partition(String table, Map<String, AttributeValue> item) {
        AttributeValue pk = item.get(Keys.PK);
        return SHADOW.computeIfAbsent(table + "\u0000" + (pk == null ? "" : pk.s()),
                k -> new ConcurrentSkipListMap<>(Shards::compareKeys));
    }

    private static ItemKind kind(Map<String, AttributeValue> key) {
        AttributeValue pk = key.get(Keys.PK);
        return ItemKind.of(pk == null ? null : pk.s(), sk(key));
    }

    private static String sk(Map<String, AttributeValue> item) {
        AttributeValue sk = item.get(Keys.SK);
        return sk == null ? "" : sk.s();
    }

    private static void readUnits(String op, ItemKind kind, double units) {
        READ_UNITS.add(units);
        READ_UNITS_BY_KIND.get(kind).add(units);
        READ_UNITS_BY_OP.computeIfAbsent(op, k -> new DoubleAdder()).add(units);
    }

    private static void sqsBilled(String op, long requests) {
        SQS_BILLED_BY_OP.computeIfAbsent(op, k -> new LongAdder()).add(requests);
    }

    /** The reconcile queue and its DLQ (the testkit and the template name them so), not the delta queue. */
    static boolean isReconcileQueue(String queueUrl) {
        return queueUrl != null && queueUrl.substring(queueUrl.lastIndexOf('/') + 1).toLowerCase(Locale.ROOT)
                .contains("reconcile");
    }

    /** SQS bills each started 64 KiB of a request's payload as one request. */
    static long chunks(long payloadBytes) {
        return Math.max(1, DynamoBilling.ceilDiv(payloadBytes, SQS_CHUNK_BYTES));
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

    /** For tests: forget every item. */
    static void resetForTests() {
        SHADOW.clear();
    }
}
