package io.cohortsync.mixpanel;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.cohortsync.domain.CohortRef;
import io.cohortsync.domain.MembershipStore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Parses a Mixpanel cohort-sync webhook body. Lenient on input (ids as strings or numbers, optional
 * session and page info, unknown keys anywhere), strict on what it lets through: every problem with
 * the request as a whole is an {@link InvalidExportException} naming it; a problem with one member
 * only skips that member.
 */
public final class MixpanelRequestParser {
    /** Longest accepted cohort name; the trait key must stay far below Segment's 32 KB per message. */
    public static final int MAX_COHORT_NAME_CHARS = 1000;
    /**
     * Longest accepted project, cohort or session id. All three, escaped ({@code %} and {@code #} become
     * three bytes, no character is more than three UTF-8 bytes per UTF-16 unit), make a session item's
     * partition key: 4 + 9 × 200 = 1,804 bytes, within DynamoDB's 2,048-byte limit. At 256 a hostile
     * export got a 503 forever (DynamoDB refuses the key) after its entries were already applied.
     */
    public static final int MAX_ID_CHARS = 200;
    /** Real exports nest two or three levels deep; anything far deeper is hostile. */
    private static final int MAX_NESTING_DEPTH = 64;
    /** Longest {@code action} echoed back; longer ones (and anything but letters and '_') answer "unknown". */
    public static final int MAX_ECHOED_ACTION_CHARS = 40;
    /** Fields Mixpanel documents (or real traffic carries) at the top level and inside parameters. */
    private static final Set<String> KNOWN_TOP_LEVEL = Set.of("action", "parameters", "members");
    private static final Set<String> KNOWN_PARAMETERS = Set.of("mixpanel_project_id", "mixpanel_cohort_id",
            "mixpanel_cohort_name", "mixpanel_cohort_description", "mixpanel_session_id", "page_info", "members",
            "mixpanel_integration_id");
    /** Unknown field names recorded as they are; any other name is only counted (it is input, maybe anything). */
    private static final Pattern RECORDABLE_NAME = Pattern.compile("[A-Za-z0-9_$-]{1,64}");
    private static final Pattern ACTION_LIKE = Pattern.compile("[A-Za-z_]{1," + MAX_ECHOED_ACTION_CHARS + "}");

    /** Longest copied trait value; anything longer is left out (a trait, not a document). */
    public static final int MAX_TRAIT_VALUE_CHARS = 1000;

    private final ObjectMapper mapper;
    private final String userIdProperty;
    private final Map<String, String> extraTraits;
    private final MissingUserId missingUserId;

    /** Segment user id = the Mixpanel distinct id. */
    public MixpanelRequestParser() {
        this(null);
    }

    public MixpanelRequestParser(String userIdProperty) {
        this(userIdProperty, Map.of());
    }

    /**
     * @param userIdProperty the member property whose value becomes the Segment user id (e.g. {@code $email});
     *                       null or blank for the distinct id. Members without it are skipped and counted.
     */
    /**
     * @param userIdProperty as above
     * @param extraTraits    member property → trait name, copied onto enters when present (an allow-list;
     *                       empty: none). Values must be strings, numbers or booleans.
     */
    public MixpanelRequestParser(String userIdProperty, Map<String, String> extraTraits) {
        this(userIdProperty, extraTraits, MissingUserId.SKIP);
    }

    /**
     * @param userIdProperty as above
     * @param extraTraits    as above
     * @param missingUserId  what to do with a member that lacks the user-id property: skip it (counted), or keep it
     *                       as an anonymous member ({@link CohortExport#anonymousIds()}, its distinct id becomes the
     *                       Segment {@code anonymousId})
     */
    public MixpanelRequestParser(String userIdProperty, Map<String, String> extraTraits, MissingUserId missingUserId) {
        this.missingUserId = Objects.requireNonNull(missingUserId, "missingUserId");
        this.extraTraits = Map.copyOf(extraTraits);
        this.userIdProperty = userIdProperty == null || userIdProperty.isBlank() ? null : userIdProperty;
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(MAX_NESTING_DEPTH).build())
                .build();
        this.mapper = new ObjectMapper(factory).enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    }

    /**
     * The {@code action} a body carries, to echo in a failure envelope, read <em>without</em> parsing the
     * export: safe to call before the caller is authenticated. A streaming read of the top-level keys up
     * to {@code action} (other values are skipped token by token, never built into a tree), of at most
     * {@code maxBytes} bytes. Only a JSON string of letters and '_', at most
     * {@value #MAX_ECHOED_ACTION_CHARS} characters, comes back (Mixpanel's three actions, or a new one it
     * might add); null for anything else (not JSON, no action, not a string, odd characters). Never throws.
     */
    public String sentAction(byte[] body, int maxBytes) {
        if (body == null || body.length == 0 || maxBytes <= 0) {
            return null;
        }
        try (JsonParser p = mapper.getFactory().createParser(body, 0, Math.min(body.length, maxBytes))) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            for (JsonToken t = p.nextToken(); t == JsonToken.FIELD_NAME; t = p.nextToken()) {
                String name = p.currentName();
                JsonToken value = p.nextToken();
                if ("action".equals(name)) {
                    return value == JsonToken.VALUE_STRING && p.getTextLength() <= MAX_ECHOED_ACTION_CHARS
                            ? plausibleAction(p.getText()) : null;
                }
                p.skipChildren();
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null; // broken, truncated at maxBytes, or too deep before any action: nothing to echo
        }
    }

    private static String plausibleAction(String action) {
        return action != null && ACTION_LIKE.matcher(action).matches() ? action : null;
    }

    public CohortExport parse(byte[] body) {
        return parse(body, CohortRef.DEFAULT_CONNECTION);
    }

    /** Parses a call that arrived on {@code connection} (its state is kept apart from other connections'). */
    public CohortExport parse(byte[] body, String connection) {
        JsonNode root = readTree(body);
        if (!root.isObject()) {
            throw new InvalidExportException("body must be a JSON object", null);
        }
        JsonNode actionNode = root.get("action");
        String sentAction = actionNode != null && actionNode.isTextual() ? plausibleAction(actionNode.textValue()) : null;
        if (actionNode == null || actionNode.isNull()) {
            throw new InvalidExportException("missing 'action' (expected members, add_members or remove_members)", null);
        }
        if (!actionNode.isTextual()) {
            throw new InvalidExportException("'action' must be a string", null);
        }
        Action action = Action.fromWire(actionNode.textValue()).orElseThrow(() -> new InvalidExportException(
                "unknown action (expected members, add_members or remove_members)", sentAction));

        JsonNode params = root.get("parameters");
        if (params == null || !params.isObject()) {
            throw new InvalidExportException("missing 'parameters' object", sentAction);
        }
        // Public receivers' fixtures omit the project id; the cohort id alone keys state, so a missing (or
        // empty) one is no reason to pause the sync: such cohorts live under an explicit placeholder project.
        String sentProjectId = optionalId(params, "mixpanel_project_id", sentAction);
        boolean projectIdMissing = sentProjectId == null;
        String projectId = projectIdMissing ? CohortRef.UNKNOWN_PROJECT : sentProjectId;
        String cohortId = requiredId(params, "mixpanel_cohort_id", sentAction);
        String cohortName = cohortName(params, sentAction);
        String sessionId = optionalId(params, "mixpanel_session_id", sentAction);

        int[] pages = pageInfo(params.get("page_info"), action, sentAction);
        if (action == Action.MEMBERS && pages[1] > 1 && sessionId == null) {
            throw new InvalidExportException("a members export of " + pages[1]
                    + " pages must carry 'mixpanel_session_id'", sentAction);
        }

        // parameters.members is the documented place; some tools show members at the top level. Either
        // is accepted; when both are there, parameters.members wins (and the log says so).
        JsonNode inParams = present(params.get("members"));
        JsonNode atTop = present(root.get("members"));
        ExportNotes.MembersSource membersFrom = inParams != null
                ? atTop != null ? ExportNotes.MembersSource.BOTH_PARAMETERS_USED : ExportNotes.MembersSource.PARAMETERS
                : atTop != null ? ExportNotes.MembersSource.TOP_LEVEL : ExportNotes.MembersSource.NONE;
        JsonNode members = inParams != null ? inParams : atTop;
        if (members != null && !members.isArray()) {
            throw new InvalidExportException(inParams != null ? "'parameters.members' must be an array"
                    : "'members' must be an array", sentAction);
        }
        Map<SkipReason, Integer> skipped = new EnumMap<>(SkipReason.class);
        Set<String> ids = new LinkedHashSet<>();
        Map<String, String> userIds = new HashMap<>();
        Set<String> anonymous = new HashSet<>();
        Map<String, Map<String, Object>> traits = new HashMap<>();
        int received = 0;
        if (members != null && members.isArray()) {
            for (JsonNode member : members) {
                received++;
                Object idOrReason = distinctId(member);
                String userId = null;
                boolean unmapped = false;
                if (idOrReason instanceof String && userIdProperty != null) {
                    userId = mappedUserId(member);
                    if (userId == null && missingUserId == MissingUserId.SKIP) {
                        idOrReason = SkipReason.MISSING_USER_ID;
                    }
                    unmapped = userId == null;
                }
                if (idOrReason instanceof SkipReason reason) {
                    skipped.merge(reason, 1, Integer::sum);
                } else if (!ids.add((String) idOrReason)) {
                    skipped.merge(SkipReason.DUPLICATE, 1, Integer::sum);
                } else {
                    if (unmapped) {
                        // MISSING_USER_ID=anonymous: the distinct id (never empty, checked above) is the anonymousId.
                        anonymous.add((String) idOrReason);
                    } else if (userId != null && !userId.equals(idOrReason)) {
                        userIds.put((String) idOrReason, userId);
                    }
                    Map<String, Object> copied = copiedTraits(member);
                    if (!copied.isEmpty()) {
                        traits.put((String) idOrReason, copied);
                    }
                }
            }
        }
        ExportNotes notes = new ExportNotes(projectIdMissing, membersFrom, integrationId(params.get("mixpanel_integration_id")),
                unknownFields(root, params));
        return new CohortExport(action, new CohortRef(connection, projectId, cohortId), cohortName, sessionId, pages[0],
                pages[1], new ArrayList<>(ids), received, skipped, userIds, traits, notes, anonymous);
    }

    /**
     * {@code mixpanel_integration_id}, seen in real traffic ({@code "0"}) and documented nowhere: kept for the
     * history when it is a usable id, otherwise left out. Never a reason to refuse the call.
     */
    private static String integrationId(JsonNode node) {
        String value = node == null || node.isNull() ? null : scalarId(node);
        if (value == null || value.isBlank() || value.length() > MAX_ID_CHARS || hasControlCharacters(value)
                || !isWellFormed(value)) {
            return null;
        }
        return value;
    }

    /** Names of the fields nobody documents, for the log and history; their values are never looked at. */
    private static List<String> unknownFields(JsonNode root, JsonNode params) {
        TreeSet<String> names = new TreeSet<>();
        int unrecordable = 0;
        for (String name : (Iterable<String>) root::fieldNames) {
            if (!KNOWN_TOP_LEVEL.contains(name)) {
                unrecordable += RECORDABLE_NAME.matcher(name).matches() && names.add(name) ? 0 : 1;
            }
        }
        for (String name : (Iterable<String>) params::fieldNames) {
            if (!KNOWN_PARAMETERS.contains(name)) {
                unrecordable += RECORDABLE_NAME.matcher(name).matches() && names.add("parameters." + name) ? 0 : 1;
            }
        }
        List<String> kept = new ArrayList<>(names);
        int others = unrecordable + Math.max(0, kept.size() - ExportNotes.MAX_UNKNOWN_FIELDS);
        if (kept.size() > ExportNotes.MAX_UNKNOWN_FIELDS) {
            kept = new ArrayList<>(kept.subList(0, ExportNotes.MAX_UNKNOWN_FIELDS));
        }
        if (others > 0) {
            kept.add("(+" + others + " others)");
        }
        return kept;
    }

    /** The node, or null when it is absent or JSON null. */
    private static JsonNode present(JsonNode node) {
        return node == null || node.isNull() ? null : node;
    }

    /** The allow-listed properties this member carries, as traits; unusable values are left out. */
    private Map<String, Object> copiedTraits(JsonNode member) {
        if (extraTraits.isEmpty()) {
            return Map.of();
        }
        Map<String, Object> copied = new TreeMap<>();
        extraTraits.forEach((property, trait) -> {
            JsonNode v = member.get(property);
            if (v == null) {
                return;
            }
            if (v.isTextual() && v.textValue().length() <= MAX_TRAIT_VALUE_CHARS && isWellFormed(v.textValue())) {
                copied.put(trait, v.textValue());
            } else if (v.isBoolean()) {
                copied.put(trait, v.booleanValue());
            } else if (v.isNumber()) {
                copied.put(trait, v.numberValue());
            }
        });
        return copied;
    }

    /** The configured property's value as a Segment user id, or null when it has no usable one. */
    private String mappedUserId(JsonNode member) {
        JsonNode node = member.get(userIdProperty);
        String value = node == null || node.isNull() ? null : scalarId(node);
        if (value == null || value.isBlank() || hasControlCharacters(value) || !isWellFormed(value)
                || value.getBytes(StandardCharsets.UTF_8).length > MembershipStore.MAX_DISTINCT_ID_BYTES) {
            return null;
        }
        return value;
    }

    private JsonNode readTree(byte[] body) {
        if (body == null || body.length == 0) {
            throw new InvalidExportException("empty body (expected a JSON cohort export)", null);
        }
        try {
            JsonNode node = mapper.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new InvalidExportException("empty body (expected a JSON cohort export)", null);
            }
            return node;
        } catch (JsonProcessingException e) {
            // The parser's own message can quote the body (PII); name the position only.
            throw new InvalidExportException("body is not valid JSON (" + describe(e) + ")", null, e);
        } catch (IOException e) {
            throw new InvalidExportException("body could not be read as JSON", null, e);
        }
    }

    private static String describe(JsonProcessingException e) {
        var loc = e.getLocation();
        String kind = e.getClass().getSimpleName().contains("Constraints") ? "nesting or size limit exceeded"
                : "syntax error";
        return loc == null ? kind : kind + " at line " + loc.getLineNr() + ", column " + loc.getColumnNr();
    }

    private static String requiredId(JsonNode params, String field, String sentAction) {
        String id = optionalId(params, field, sentAction);
        if (id == null) {
            throw new InvalidExportException("missing '" + field + "'", sentAction);
        }
        return id;
    }

    /** A string or integer id, normalised to a string; null when absent or empty. */
    private static String optionalId(JsonNode params, String field, String sentAction) {
        JsonNode node = params.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        String value = scalarId(node);
        if (value == null) {
            throw new InvalidExportException("'" + field + "' must be a string or an integer", sentAction);
        }
        if (value.isBlank()) {
            return null;
        }
        if (value.length() > MAX_ID_CHARS || hasControlCharacters(value) || !isWellFormed(value)) {
            throw new InvalidExportException("'" + field + "' must be at most " + MAX_ID_CHARS
                    + " printable characters", sentAction);
        }
        return value;
    }

    private static String scalarId(JsonNode node) {
        if (node.isTextual()) {
            return node.textValue();
        }
        if (node.isIntegralNumber()) {
            return node.bigIntegerValue().toString();
        }
        if (node.isNumber() && node.canConvertToExactIntegral()) {
            return node.decimalValue().toBigIntegerExact().toString();
        }
        return null;
    }

    private static String cohortName(JsonNode params, String sentAction) {
        JsonNode node = params.get("mixpanel_cohort_name");
        if (node == null || node.isNull()) {
            throw new InvalidExportException("missing 'mixpanel_cohort_name' (it becomes the Segment trait)", sentAction);
        }
        String name = node.isTextual() ? node.textValue() : node.isNumber() ? node.asText() : null;
        if (name == null || name.isBlank()) {
            throw new InvalidExportException("'mixpanel_cohort_name' must be a non-empty string", sentAction);
        }
        if (name.length() > MAX_COHORT_NAME_CHARS) {
            throw new InvalidExportException("'mixpanel_cohort_name' is longer than " + MAX_COHORT_NAME_CHARS
                    + " characters", sentAction);
        }
        if (hasControlCharacters(name) || !isWellFormed(name)) {
            throw new InvalidExportException("'mixpanel_cohort_name' contains control characters or broken unicode",
                    sentAction);
        }
        return name;
    }

    /** [page, totalPages]. Strict for full exports (they drive exits), ignored when broken on diffs. */
    private static int[] pageInfo(JsonNode info, Action action, String sentAction) {
        if (info == null || info.isNull()) {
            return new int[]{1, 1};
        }
        try {
            if (!info.isObject()) {
                throw new InvalidExportException("'page_info' must be an object", sentAction);
            }
            Integer total = positiveInt(info.get("total_pages"), "page_info.total_pages", sentAction);
            Integer page = positiveInt(info.get("page_count"), "page_info.page_count", sentAction);
            int t = total == null ? 1 : total;
            if (page == null) {
                if (t > 1) {
                    throw new InvalidExportException("'page_info.page_count' is missing for a "
                            + t + "-page export", sentAction);
                }
                page = 1;
            }
            if (page > t) {
                throw new InvalidExportException("'page_info.page_count' (" + page + ") exceeds 'total_pages' ("
                        + t + ")", sentAction);
            }
            return new int[]{page, t};
        } catch (InvalidExportException e) {
            if (action == Action.MEMBERS) {
                throw e;
            }
            // add/remove calls do not depend on paging: a broken page_info must not stall them.
            return new int[]{1, 1};
        }
    }

    private static Integer positiveInt(JsonNode node, String field, String sentAction) {
        if (node == null || node.isNull()) {
            return null;
        }
        long value;
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            value = node.longValue();
        } else if (node.isTextual() && node.textValue().matches("\\d{1,9}")) {
            value = Long.parseLong(node.textValue());
        } else {
            throw new InvalidExportException("'" + field + "' must be a positive integer", sentAction);
        }
        if (value < 1 || value > 1_000_000) {
            throw new InvalidExportException("'" + field + "' must be between 1 and 1000000", sentAction);
        }
        return (int) value;
    }

    /** The member's usable distinct id, or why it has none. */
    private static Object distinctId(JsonNode member) {
        if (!member.isObject()) {
            return SkipReason.NOT_AN_OBJECT;
        }
        JsonNode primary = member.get("mixpanel_distinct_id");
        JsonNode node = primary;
        if (node == null || node.isNull() || (node.isTextual() && node.textValue().isEmpty())) {
            JsonNode fallback = member.get("$distinct_id");
            node = fallback == null || fallback.isNull() ? primary : fallback;
        }
        if (node == null || node.isNull()) {
            return SkipReason.MISSING_ID;
        }
        String id = scalarId(node);
        if (id == null) {
            return SkipReason.INVALID_ID_TYPE;
        }
        if (id.isBlank()) {
            return SkipReason.EMPTY_ID;
        }
        if (hasControlCharacters(id) || !isWellFormed(id)) {
            return SkipReason.UNSTORABLE_ID;
        }
        if (id.getBytes(StandardCharsets.UTF_8).length > MembershipStore.MAX_DISTINCT_ID_BYTES) {
            return SkipReason.ID_TOO_LONG;
        }
        return id;
    }

    private static boolean hasControlCharacters(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f) {
                return true;
            }
        }
        return false;
    }

    /**
     * False for unpaired surrogates, which cannot be encoded as UTF-8 (DynamoDB, Segment), and for the
     * noncharacters U+FFFE and U+FFFF: ids and names travel verbatim in delta messages, and SQS refuses a
     * body outside #x9 | #xA | #xD | #x20-#xD7FF | #xE000-#xFFFD | #x10000-#x10FFFF.
     */
    private static boolean isWellFormed(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\uFFFE' || c == '\uFFFF') {
                return false;
            }
            if (Character.isHighSurrogate(c)) {
                if (i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))) {
                    return false;
                }
                i++;
            } else if (Character.isLowSurrogate(c)) {
                return false;
            }
        }
        return true;
    }
}
