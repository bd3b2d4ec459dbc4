package io.cohortsync.snapstart;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.Method;

/**
 * A priming step for the part of a first request that is not ours: the Lambda runtime reads each event and
 * writes each response with its own serializer (aws-lambda-java-serialization, with a Jackson of its own), whose
 * first use loads and introspects the event classes. The runtime provides that library; functions do not ship it,
 * so it is reached by reflection, through the class loader that loaded the handler (whose parent is the
 * runtime's). It round-trips a sample event (written, then read, as the runtime reads a request) and writes a
 * sample response; where the library is not there (no Lambda runtime), the step fails and says so in the log.
 */
public final class RuntimeSerialization {
    static final String SERIALIZERS = "com.amazonaws.services.lambda.runtime.serialization.events.LambdaEventSerializers";
    static final String SERIALIZER = "com.amazonaws.services.lambda.runtime.serialization.PojoSerializer";

    private RuntimeSerialization() {
    }

    /** The step: {@code event} out and back in with the runtime's serializer of its class, {@code response} out. */
    public static Priming.Step step(Object event, Object response) {
        return new Priming.Step("runtime serializer", () -> {
            try {
                ClassLoader loader = event.getClass().getClassLoader();
                Class<?> serializers = Class.forName(SERIALIZERS, true, loader);
                Class<?> serializer = Class.forName(SERIALIZER, true, loader);
                Method serializerFor = serializers.getMethod("serializerFor", Class.class, ClassLoader.class);
                Method toJson = serializer.getMethod("toJson", Object.class, OutputStream.class);
                Method fromJson = serializer.getMethod("fromJson", InputStream.class);
                Object in = serializerFor.invoke(null, event.getClass(), loader);
                ByteArrayOutputStream json = new ByteArrayOutputStream();
                toJson.invoke(in, event, json);
                Object read = fromJson.invoke(in, new ByteArrayInputStream(json.toByteArray()));
                if (read == null || read.getClass() != event.getClass()) {
                    throw new IllegalStateException("the runtime's serializer did not read the event back");
                }
                toJson.invoke(serializerFor.invoke(null, response.getClass(), loader), response,
                        OutputStream.nullOutputStream());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e.getClass().getSimpleName(), e);
            }
        });
    }
}
