package io.cohortsync.testkit;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.util.List;
import java.util.stream.IntStream;

/**
 * Builds Mixpanel webhook bodies as Mixpanel sends them, members complete with the PII a real export
 * carries (email, names, phone), so tests can prove none of it reaches a log.
 */
public final class Exports {
    public static final String PROJECT = "2195193";
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private Exports() {
    }

    /** Distinct ids that look like what real projects use: emails. */
    public static List<String> users(String prefix, int from, int count) {
        return IntStream.range(from, from + count).mapToObj(i -> prefix + i + "@example.com").toList();
    }

    public static String add(String cohortId, String cohortName, List<String> ids) {
        return body("add_members", cohortId, cohortName, null, 0, 0, ids);
    }

    public static String remove(String cohortId, String cohortName, List<String> ids) {
        return body("remove_members", cohortId, cohortName, null, 0, 0, ids);
    }

    public static String members(String cohortId, String cohortName, String sessionId, int page, int totalPages,
                                 List<String> ids) {
        return body("members", cohortId, cohortName, sessionId, page, totalPages, ids);
    }

    /** page/totalPages 0 leaves page_info out. */
    public static String body(String action, String cohortId, String cohortName, String sessionId, int page,
                              int totalPages, List<String> ids) {
        ObjectNode root = MAPPER.createObjectNode();
        root.put("action", action);
        ObjectNode p = root.putObject("parameters");
        p.put("mixpanel_project_id", PROJECT);
        p.put("mixpanel_cohort_id", cohortId);
        p.put("mixpanel_cohort_name", cohortName);
        p.put("mixpanel_cohort_description", "test cohort");
        if (sessionId != null) {
            p.put("mixpanel_session_id", sessionId);
        }
        if (page > 0) {
            p.putObject("page_info").put("total_pages", totalPages).put("page_count", page);
        }
        ArrayNode members = p.putArray("members");
        for (String id : ids) {
            members.add(member(id));
        }
        return root.toString();
    }

    public static ObjectNode member(String id) {
        String local = id.contains("@") ? id.substring(0, id.indexOf('@')) : id;
        ObjectNode m = MAPPER.createObjectNode();
        m.put("mixpanel_distinct_id", id);
        m.put("email", local + "@mail.example.org");
        m.put("first_name", "Firstname" + local);
        m.put("last_name", "Lastname" + local);
        m.put("phone_number", "+1-555-" + String.format("%07d", Math.abs(local.hashCode()) % 10_000_000));
        return m;
    }
}
