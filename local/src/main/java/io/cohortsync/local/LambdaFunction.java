package io.cohortsync.local;

import java.time.Duration;

/**
 * A function as its event source calls it: the event Lambda would send, as JSON, in; the response the
 * runtime would report, as JSON, out. {@link InProcessFunction} runs the handler in this JVM (the runtime's
 * serializer on each side); {@link RuntimeClientFunction} sends the event to the function's sam-build
 * package under the real Lambda runtime client. Front door and pollers see no difference.
 */
interface LambdaFunction extends AutoCloseable {
    /**
     * @param timeout what the invocation may take (the context's remaining time, the runtime's deadline)
     * @throws FunctionError when the function reports an error (the handler threw, or the runtime could not
     *                       read the event), as Lambda's invoke does
     */
    byte[] invoke(byte[] event, Duration timeout);

    /** The function failed the invocation: what Lambda's {@code FunctionError} says, type and message. */
    final class FunctionError extends RuntimeException {
        FunctionError(String message) {
            super(message);
        }
    }

    @Override
    default void close() {
    }
}
