package io.cohortsync.testkit;

import software.amazon.awssdk.core.SdkRequest;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttribute;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.dynamodb.model.AttributeValue;
import software.amazon.awssdk.services.dynamodb.model.BatchGetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.BatchWriteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.DeleteItemRequest;
import software.amazon.awssdk.services.dynamodb.model.GetItemRequest;
import software.amazon.awssdk.services.dynamodb.model.PutItemRequest;
import software.amazon.awssdk.services.dynamodb.model.UpdateItemRequest;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Gives moto (5.2) the isolation DynamoDB has, which the design relies on and moto lacks: its DynamoDB
 * backend takes no lock at all.
 * <ul>
 *   <li>A single-item write is a read-modify-write there: two concurrent {@code UpdateItem}s on one item
 *       can lose one (two shards' reports of an exit pass counted as one, so the pass never decided), two
 *       conditional {@code PutItem}s can both pass, a read can see an update half-applied. So every request
 *       naming items (Get/Put/Update/DeleteItem, each item of a batch) holds their lock stripes, taken in
 *       order.</li>
 *   <li>{@code TransactWriteItems} deep-copies the whole table first and, if a condition cancels it, puts
 *       the copy back: every write made meanwhile is erased (a losing completion undid the winning one).
 *       So a transaction runs alone: it holds a write lock, every other DynamoDB call a read lock.</li>
 * </ul>
 * Queries and scans take no stripe (they read whole partitions; items are replaced whole or updated one
 * attribute at a time by this code). Registered as an SDK global interceptor by testkit's classpath
 * resource, so it covers the functions' own clients too; test infrastructure only, never in a function.
 */
public final class MotoIsolation implements ExecutionInterceptor {
    private static final ReentrantReadWriteLock TABLE = new ReentrantReadWriteLock(true);
    private static final int STRIPES = 512;
    private static final Lock[] ITEM = new Lock[STRIPES];
    private static final ExecutionAttribute<AtomicReference<Deque<Lock>>> HELD =
            new ExecutionAttribute<>("moto-isolation");

    static {
        for (int i = 0; i < STRIPES; i++) {
            ITEM[i] = new ReentrantLock();
        }
    }

    @Override
    public void beforeExecution(Context.BeforeExecution context, ExecutionAttributes attributes) {
        if (!"DynamoDb".equals(attributes.getAttribute(SdkExecutionAttribute.SERVICE_NAME))) {
            return;
        }
        Deque<Lock> held = new ArrayDeque<>();
        if ("TransactWriteItems".equals(attributes.getAttribute(SdkExecutionAttribute.OPERATION_NAME))) {
            take(TABLE.writeLock(), held);
        } else {
            take(TABLE.readLock(), held);
            for (int stripe : stripes(context.request())) {
                take(ITEM[stripe], held);
            }
        }
        attributes.putAttribute(HELD, new AtomicReference<>(held));
    }

    private static void take(Lock lock, Deque<Lock> held) {
        lock.lock();
        held.push(lock);
    }

    /** The lock stripes of the items a request names, in ascending order (so two requests never deadlock). */
    private static TreeSet<Integer> stripes(SdkRequest request) {
        TreeSet<Integer> stripes = new TreeSet<>();
        switch (request) {
            case GetItemRequest r -> stripes.add(stripe(r.tableName(), r.key()));
            case PutItemRequest r -> stripes.add(stripe(r.tableName(), r.item()));
            case UpdateItemRequest r -> stripes.add(stripe(r.tableName(), r.key()));
            case DeleteItemRequest r -> stripes.add(stripe(r.tableName(), r.key()));
            case BatchGetItemRequest r -> r.requestItems().forEach((table, keys) ->
                    keys.keys().forEach(k -> stripes.add(stripe(table, k))));
            case BatchWriteItemRequest r -> r.requestItems().forEach((table, writes) -> writes.forEach(w -> {
                if (w.putRequest() != null) {
                    stripes.add(stripe(table, w.putRequest().item()));
                } else if (w.deleteRequest() != null) {
                    stripes.add(stripe(table, w.deleteRequest().key()));
                }
            }));
            default -> {
                // Queries, scans, table management: no item of their own.
            }
        }
        return stripes;
    }

    private static int stripe(String table, Map<String, AttributeValue> item) {
        AttributeValue pk = item.get("pk");
        AttributeValue sk = item.get("sk");
        int h = (table + "\u0000" + (pk == null ? "" : pk.s()) + "\u0000" + (sk == null ? "" : sk.s())).hashCode();
        return Math.floorMod(h, STRIPES);
    }

    @Override
    public void afterExecution(Context.AfterExecution context, ExecutionAttributes attributes) {
        release(attributes);
    }

    @Override
    public void onExecutionFailure(Context.FailedExecution context, ExecutionAttributes attributes) {
        release(attributes);
    }

    /** Once per execution, whichever of the two callbacks comes (a sync client calls them on its own thread). */
    private static void release(ExecutionAttributes attributes) {
        AtomicReference<Deque<Lock>> ref = attributes.getAttribute(HELD);
        Deque<Lock> held = ref == null ? null : ref.getAndSet(null);
        if (held != null) {
            while (!held.isEmpty()) {
                held.pop().unlock();
            }
        }
    }
}
