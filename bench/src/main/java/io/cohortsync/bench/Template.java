package io.cohortsync.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * What the benchmark takes from template.yaml rather than repeating it: the functions' memory size
 * (Globals), their JVM options ({@code JAVA_TOOL_OPTIONS}) and the webhook's {@code COMMIT_CONCURRENCY}, so
 * the numbers follow the template.
 */
record Template(int memoryMb, List<String> javaToolOptions, int commitConcurrency) {
    private static final Pattern MEMORY = Pattern.compile("(?m)^\\s+MemorySize:\\s*(\\d+)");
    private static final Pattern JAVA_TOOL_OPTIONS = Pattern.compile("(?m)^\\s+JAVA_TOOL_OPTIONS:\\s*(.+?)\\s*$");
    private static final Pattern COMMIT_CONCURRENCY = Pattern.compile("(?m)^\\s+COMMIT_CONCURRENCY:\\s*'?(\\d+)");

    static Template load(Path repo) {
        String text;
        try {
            text = Files.readString(repo.resolve("template.yaml"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        Matcher memory = MEMORY.matcher(text);
        Matcher options = JAVA_TOOL_OPTIONS.matcher(text);
        Matcher concurrency = COMMIT_CONCURRENCY.matcher(text);
        if (!memory.find() || !options.find() || !concurrency.find()) {
            throw new IllegalStateException("template.yaml has no MemorySize, JAVA_TOOL_OPTIONS or COMMIT_CONCURRENCY");
        }
        String opts = options.group(1).replaceAll("^['\"]|['\"]$", "");
        return new Template(Integer.parseInt(memory.group(1)), Arrays.asList(opts.split("\\s+")),
                Integer.parseInt(concurrency.group(1)));
    }

    String javaToolOptionsString() {
        return String.join(" ", javaToolOptions);
    }
}
