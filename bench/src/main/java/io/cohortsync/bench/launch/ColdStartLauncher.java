package io.cohortsync.bench.launch;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;
import io.cohortsync.testkit.LambdaCrac;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the Lambda Java runtime does for a new container, in a fresh JVM: load the handler class from
 * the function's package, construct it and the serializers of its input and output types (init), read each
 * event with the runtime's serializer, invoke, serialize the response. Prints {@code FIRST-RESPONSE} as soon as the first response is serialized (the
 * caller times process start to that line), then one line {@code COLD-START {...}} with the timings of every
 * request, and exits. Kept free of anything but the Lambda libraries and {@link LambdaCrac} (copied next to
 * it), because it runs on the function's own classpath (artifact root + lib/*.jar) plus
 * aws-lambda-java-serialization and the runtime client, like the runtime.
 * <p>Arguments: handler class, event class, mode, event file, more event files. Mode {@code primed}: after
 * init, the runtime client's CRaC context runs the registered hooks' beforeCheckpoint, as Lambda's runtime
 * does before it takes a SnapStart snapshot (no snapshot is taken: the first request then runs in the same
 * JVM, primed, the nearest this machine gets to the first request after a restore). Mode {@code cold}: no hook
 * runs, the first request pays for everything (an on-demand cold start). Later events are warm requests.
 */
public final class ColdStartLauncher {
    private ColdStartLauncher() {
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void main(String[] args) throws Exception {
        long mainAt = System.nanoTime();
        // Made before anything is timed: its own first use loads classes that are no request's.
        var classes = java.lang.management.ManagementFactory.getClassLoadingMXBean();
        PrintStream report = System.out;
        // The function's own log lines go to stderr, so stdout carries only the report lines.
        System.setOut(System.err);
        ClassLoader loader = ColdStartLauncher.class.getClassLoader();
        Class<?> handlerClass = Class.forName(args[0], true, loader);
        Object handler = handlerClass.getConstructor().newInstance();
        // As the runtime client does at init: the handler's input and output serializers, made once.
        Class<?> eventClass = Class.forName(args[1], true, loader);
        PojoSerializer eventSerializer = LambdaEventSerializers.serializerFor(eventClass, loader);
        Class<?> outputClass = outputType(handlerClass);
        PojoSerializer responseSerializer = outputClass == Object.class ? null
                : LambdaEventSerializers.serializerFor(outputClass, loader);
        long initDone = System.nanoTime();
        boolean primed = "primed".equals(args[2]);
        if (primed) {
            LambdaCrac.beforeCheckpoint();
        }
        long primeDone = System.nanoTime();

        StringBuilder requests = new StringBuilder();
        String firstResponse = null;
        long firstResponded = 0;
        for (int i = 3; i < args.length; i++) {
            long loadedBefore = classes.getTotalLoadedClassCount();
            long started = System.nanoTime();
            Object event = eventSerializer.fromJson(new ByteArrayInputStream(Files.readAllBytes(Path.of(args[i]))));
            long read = System.nanoTime();
            Object response = ((RequestHandler) handler).handleRequest(event, new FirstContext());
            long handled = System.nanoTime();
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (response != null && responseSerializer != null) {
                responseSerializer.toJson(response, out);
            }
            long responded = System.nanoTime();
            if (i == 3) {
                report.println("FIRST-RESPONSE");
                report.flush();
                firstResponse = out.toString(StandardCharsets.UTF_8);
                firstResponded = responded;
            }
            requests.append(requests.length() == 0 ? "" : ",").append("{\"deserializeMs\":").append(ms(read - started))
                    .append(",\"handlerMs\":").append(ms(handled - read)).append(",\"serializeMs\":")
                    .append(ms(responded - handled)).append(",\"totalMs\":").append(ms(responded - started))
                    .append(",\"responseBytes\":").append(out.size())
                    .append(",\"classesLoaded\":").append(classes.getTotalLoadedClassCount() - loadedBefore).append("}");
        }
        report.println("COLD-START {\"mode\":\"" + args[2] + "\",\"initMs\":" + ms(initDone - mainAt)
                + ",\"primeMs\":" + ms(primeDone - initDone) + ",\"invokeMs\":" + ms(firstResponded - primeDone)
                + ",\"mainToResponseMs\":" + ms(firstResponded - mainAt) + ",\"requests\":[" + requests + "]"
                + ",\"response\":\"" + firstResponse.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}");
        report.flush();
        System.exit(0);
    }

    /** The O of the handler's {@code RequestHandler<I, O>}; Object when it is not a class. */
    static Class<?> outputType(Class<?> handlerClass) {
        for (java.lang.reflect.Type t : handlerClass.getGenericInterfaces()) {
            if (t instanceof java.lang.reflect.ParameterizedType p && p.getRawType() == RequestHandler.class
                    && p.getActualTypeArguments()[1] instanceof Class<?> c) {
                return c;
            }
        }
        return Object.class;
    }

    private static double ms(long nanos) {
        return nanos / 1e6;
    }

    /** The context of a first invocation with the deployed timeout ahead of it. */
    static final class FirstContext implements Context {
        private final long deadline = System.currentTimeMillis() + 29_000;

        @Override
        public String getAwsRequestId() {
            return "cold-start";
        }

        @Override
        public String getLogGroupName() {
            return "/aws/lambda/cold-start";
        }

        @Override
        public String getLogStreamName() {
            return "cold-start";
        }

        @Override
        public String getFunctionName() {
            return "cold-start";
        }

        @Override
        public String getFunctionVersion() {
            return "1";
        }

        @Override
        public String getInvokedFunctionArn() {
            return "arn:aws:lambda:us-east-1:123456789012:function:cold-start";
        }

        @Override
        public CognitoIdentity getIdentity() {
            return null;
        }

        @Override
        public ClientContext getClientContext() {
            return null;
        }

        @Override
        public int getRemainingTimeInMillis() {
            return (int) Math.max(0, deadline - System.currentTimeMillis());
        }

        @Override
        public int getMemoryLimitInMB() {
            return 1024;
        }

        @Override
        public LambdaLogger getLogger() {
            return null;
        }
    }
}
