package io.cohortsync.testkit;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * template.yaml as CloudFormation reads it: short-form tags ({@code !Ref X}, {@code !GetAtt A.B},
 * {@code !Sub …}) become their long form ({@code {"Ref": "X"}}, {@code {"Fn::GetAtt": ["A", "B"]}},
 * {@code {"Fn::Sub": …}}), so a reference is never mistaken for a literal. Plus the two SAM rules the
 * checks need: Globals.Function values apply to every function, and maps (Environment) merge.
 */
public final class CfnTemplate {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    private static final Set<String> FN_TAGS = Set.of("Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs",
            "ImportValue", "Join", "Select", "Split", "Sub", "Transform", "And", "Equals", "If", "Not", "Or",
            "ToJsonString", "Length");

    private final JsonNode root;

    private CfnTemplate(JsonNode root) {
        this.root = root;
    }

    public static CfnTemplate load(Path file) {
        try (YAMLParser parser = (YAMLParser) new YAMLFactory().createParser(file.toFile())) {
            parser.nextToken();
            return new CfnTemplate(read(parser));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file, e);
        }
    }

    public JsonNode root() {
        return root;
    }

    public JsonNode resources() {
        return root.path("Resources");
    }

    public JsonNode resource(String logicalId) {
        JsonNode r = resources().get(logicalId);
        if (r == null) {
            throw new AssertionError("template.yaml has no resource " + logicalId);
        }
        return r;
    }

    /** Logical id → resource, for every resource of the type. */
    public Map<String, JsonNode> resourcesOfType(String type) {
        Map<String, JsonNode> found = new LinkedHashMap<>();
        resources().properties().forEach(e -> {
            if (type.equals(e.getValue().path("Type").asText())) {
                found.put(e.getKey(), e.getValue());
            }
        });
        return found;
    }

    public Map<String, JsonNode> functions() {
        return resourcesOfType("AWS::Serverless::Function");
    }

    /** A function property as SAM resolves it: the function's own value, else Globals.Function's. */
    public JsonNode functionProperty(String functionId, String name) {
        JsonNode own = resource(functionId).path("Properties").get(name);
        return own != null ? own : root.path("Globals").path("Function").get(name);
    }

    /** The function's environment variables after SAM merges Globals into it. */
    public Map<String, JsonNode> environment(String functionId) {
        Map<String, JsonNode> vars = new LinkedHashMap<>();
        root.path("Globals").path("Function").path("Environment").path("Variables").properties()
                .forEach(e -> vars.put(e.getKey(), e.getValue()));
        resource(functionId).path("Properties").path("Environment").path("Variables").properties()
                .forEach(e -> vars.put(e.getKey(), e.getValue()));
        return vars;
    }

    /** Timeout in seconds as deployed (Lambda's default is 3). */
    public int timeoutSeconds(String functionId) {
        JsonNode t = functionProperty(functionId, "Timeout");
        return t == null ? 3 : t.asInt();
    }

    /** The function's {@code Handler} (e.g. {@code io.cohortsync.webhook.WebhookHandler::handleRequest}). */
    public String handler(String functionId) {
        JsonNode h = functionProperty(functionId, "Handler");
        if (h == null || !h.isTextual()) {
            throw new IllegalStateException("template.yaml: " + functionId + " has no Handler string");
        }
        return h.asText();
    }

    /** MemorySize in MB as deployed (Lambda's default is 128). */
    public int memorySize(String functionId) {
        JsonNode m = functionProperty(functionId, "MemorySize");
        return m == null ? 128 : m.asInt();
    }

    /** The function's {@code LoggingConfig} value {@code name} ({@code LogFormat}, {@code ApplicationLogLevel}), or null. */
    public String loggingConfig(String functionId, String name) {
        JsonNode own = resource(functionId).path("Properties").path("LoggingConfig").get(name);
        JsonNode value = own != null ? own : root.path("Globals").path("Function").path("LoggingConfig").get(name);
        return value == null || !value.isTextual() ? null : value.asText();
    }

    /**
     * The function's environment as Lambda would hand it to the function on a deployed stack: every
     * variable of Globals and of the function, {@code !Ref} of a resource resolved through {@code resources}
     * (logical id → the value the reference takes, e.g. a queue URL), {@code !Ref} of a parameter to its
     * Default, {@code !Sub} with the pseudo parameters {@code AWS::AccountId} (123456789012), {@code
     * AWS::Region} (us-east-1) and {@code AWS::StackName} ({@code stackName}).
     *
     * @throws IllegalStateException for a reference it cannot resolve (a new resource the caller does not
     *                               know yet must fail loudly, not become an empty variable)
     */
    public Map<String, String> resolvedEnvironment(String functionId, Map<String, String> resources, String stackName) {
        Map<String, String> env = new LinkedHashMap<>();
        environment(functionId).forEach((name, value) -> env.put(name, resolve(functionId + "." + name, value,
                resources, stackName)));
        return env;
    }

    private String resolve(String where, JsonNode value, Map<String, String> resources, String stackName) {
        if (value.isValueNode()) {
            return value.asText();
        }
        if (value.has("Ref")) {
            String id = value.get("Ref").asText();
            if (resources.containsKey(id)) {
                return resources.get(id);
            }
            JsonNode parameter = root.path("Parameters").get(id);
            if (parameter != null && parameter.has("Default")) {
                return parameter.get("Default").asText();
            }
            String pseudo = pseudo(id, stackName);
            if (pseudo != null) {
                return pseudo;
            }
            throw new IllegalStateException(where + ": !Ref " + id + " is neither a resource given nor a parameter "
                    + "with a Default");
        }
        if (value.has("Fn::Sub") && value.get("Fn::Sub").isTextual()) {
            Matcher m = Pattern.compile("\\$\\{([^}]+)}").matcher(value.get("Fn::Sub").asText());
            StringBuilder out = new StringBuilder();
            while (m.find()) {
                String name = m.group(1);
                String replacement = pseudo(name, stackName);
                if (replacement == null) {
                    replacement = resolve(where, NODES.objectNode().put("Ref", name), resources, stackName);
                }
                m.appendReplacement(out, Matcher.quoteReplacement(replacement));
            }
            m.appendTail(out);
            return out.toString();
        }
        throw new IllegalStateException(where + ": cannot resolve " + value);
    }

    private static String pseudo(String name, String stackName) {
        return switch (name) {
            case "AWS::AccountId" -> "123456789012";
            case "AWS::Region" -> "us-east-1";
            case "AWS::StackName" -> stackName;
            case "AWS::Partition" -> "aws";
            default -> null;
        };
    }

    /** The logical id a {@code !Ref X} or {@code !GetAtt X.Attr} points at, or null for anything else. */
    public static String referencedId(JsonNode node) {
        if (node == null || !node.isObject()) {
            return null;
        }
        if (node.has("Ref")) {
            return node.get("Ref").asText();
        }
        JsonNode getAtt = node.get("Fn::GetAtt");
        return getAtt != null && getAtt.isArray() ? getAtt.get(0).asText() : null;
    }

    // ---------------------------------------------------------------- YAML with CloudFormation tags

    private static JsonNode read(YAMLParser p) throws IOException {
        String tag = p.getTypeId(); // the tag of the current scalar or collection, '!' stripped
        JsonToken token = p.currentToken();
        JsonNode value = switch (token) {
            case START_OBJECT -> {
                ObjectNode object = NODES.objectNode();
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String field = p.currentName();
                    p.nextToken();
                    object.set(field, read(p));
                }
                yield object;
            }
            case START_ARRAY -> {
                ArrayNode array = NODES.arrayNode();
                while (p.nextToken() != JsonToken.END_ARRAY) {
                    array.add(read(p));
                }
                yield array;
            }
            case VALUE_STRING -> NODES.textNode(p.getText());
            case VALUE_NUMBER_INT -> NODES.numberNode(p.getLongValue());
            case VALUE_NUMBER_FLOAT -> NODES.numberNode(p.getDecimalValue());
            case VALUE_TRUE, VALUE_FALSE -> NODES.booleanNode(p.getBooleanValue());
            case VALUE_NULL -> NODES.nullNode();
            default -> throw new IOException("unexpected " + token + " at " + p.currentLocation());
        };
        return tag == null || tag.startsWith("tag:yaml.org") ? value : intrinsic(tag, value, p);
    }

    private static JsonNode intrinsic(String tag, JsonNode value, YAMLParser p) throws IOException {
        ObjectNode fn = NODES.objectNode();
        if (tag.equals("Ref") || tag.equals("Condition")) {
            fn.set(tag, value);
        } else if (tag.equals("GetAtt") && value.isTextual()) {
            String[] parts = value.asText().split("\\.", 2); // !GetAtt Resource.Attribute
            fn.set("Fn::GetAtt", NODES.arrayNode().add(parts[0]).add(parts.length > 1 ? parts[1] : ""));
        } else if (FN_TAGS.contains(tag)) {
            fn.set("Fn::" + tag, value);
        } else {
            throw new IOException("unknown tag !" + tag + " at " + p.currentLocation());
        }
        return fn;
    }
}
