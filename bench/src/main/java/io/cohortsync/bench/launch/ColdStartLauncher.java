package io.cohortsync.bench.launch;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;
import com.amazonaws.services.lambda.runtime.RequestHandler;
import com.amazonaws.services.lambda.runtime.serialization.PojoSerializer;
import com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What the Lambda Java runtime does for a new container, in a fresh JVM: load the handler class from
 * the function's package, construct it (init), read the first event with the runtime's serializer,
 * invoke, serialize the response. Prints one line {@code COLD-START {...}} with the timings and then
 * exits. Kept free of anything but the Lambda libraries, because it runs on the function's own
 * classpath (artifact root + lib/*.jar) plus aws-lambda-java-serialization, like the runtime.
 * <p>Arguments: handler class, event class, event file.
 */
public final class ColdStartLauncher {
    private ColdStartLauncher() {
    }

    @SuppressWarnings({"unchecked", "rawtypes"})
    public static void main(String[] args) throws Exception {
        long mainAt = System.nanoTime();
        PrintStream report = System.out;
        // The function's own log lines go to stderr, so stdout carries only the report line.
        System.setOut(System.err);
        ClassLoader loader = ColdStartLauncher.class.getClassLoader();
        Class<?> handlerClass = Class.forName(args[0], true, loader);
        Object handler = handlerClass.getConstructor().newInstance();
        long initDone = System.nanoTime();

        Class<?> eventClass = Class.forName(args[1], true, loader);
        PojoSerializer eventSerializer = LambdaEventSerializers.serializerFor(eventClass, loader);
        Object event = eventSerializer.fromJson(new ByteArrayInputStream(Files.readAllBytes(Path.of(args[2]))));
        Object response = ((RequestHandler) handler).handleRequest(event, new FirstContext());
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (response != null) {
            PojoSerializer responseSerializer = LambdaEventSerializers.serializerFor(response.getClass(), loader);
            responseSerializer.toJson(response, out);
        }
        long responded = System.nanoTime();
        report.println("COLD-START {\"initMs\":" + (initDone - mainAt) / 1e6 + ",\"invokeMs\":" + (responded - initDone) / 1e6
                + ",\"mainToResponseMs\":" + (responded - mainAt) / 1e6 + ",\"responseBytes\":" + out.size()
                + ",\"response\":\"" + out.toString(StandardCharsets.UTF_8).replace("\\", "\\\\").replace("\"", "\\\"")
                + "\"}");
        report.flush();
        System.exit(0);
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
