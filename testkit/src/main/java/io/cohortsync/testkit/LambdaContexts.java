package io.cohortsync.testkit;

import com.amazonaws.services.lambda.runtime.ClientContext;
import com.amazonaws.services.lambda.runtime.CognitoIdentity;
import com.amazonaws.services.lambda.runtime.Context;
import com.amazonaws.services.lambda.runtime.LambdaLogger;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;

/** Lambda {@link Context}s whose remaining time counts down from creation, as the runtime's does. */
public final class LambdaContexts {
    private LambdaContexts() {
    }

    /** A context for {@code function} with {@code remaining} time left from now. */
    public static Context withRemaining(String function, Duration remaining) {
        Instant deadline = Instant.now().plus(remaining);
        String requestId = UUID.randomUUID().toString();
        return new Context() {
            @Override
            public String getAwsRequestId() {
                return requestId;
            }

            @Override
            public String getLogGroupName() {
                return "/aws/lambda/" + function;
            }

            @Override
            public String getLogStreamName() {
                return "local";
            }

            @Override
            public String getFunctionName() {
                return function;
            }

            @Override
            public String getFunctionVersion() {
                return "$LATEST";
            }

            @Override
            public String getInvokedFunctionArn() {
                return "arn:aws:lambda:us-east-1:123456789012:function:" + function;
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
                return (int) Math.max(0, Duration.between(Instant.now(), deadline).toMillis());
            }

            @Override
            public int getMemoryLimitInMB() {
                return 512;
            }

            @Override
            public LambdaLogger getLogger() {
                return new LambdaLogger() {
                    @Override
                    public void log(String message) {
                        System.out.print(message);
                    }

                    @Override
                    public void log(byte[] message) {
                        System.out.print(new String(message, StandardCharsets.UTF_8));
                    }
                };
            }
        };
    }
}
