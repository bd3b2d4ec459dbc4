package io.cohortsync.infra;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** The repository these tests check, and what its sources read from the environment. */
final class Repo {
    /**
     * How our code reads a variable: {@code env.get("X")}, {@code System.getenv("X")},
     * {@code getOrDefault("X", …)}, or a helper taking the map first, {@code required(env, "X")}.
     */
    private static final Pattern ENV_READ = Pattern.compile(
            "(?:\\b(?:env|environment)\\s*\\.\\s*get\\s*\\(|\\bgetenv\\s*\\(|\\.getOrDefault\\s*\\("
                    + "|\\(\\s*(?:env|environment)\\s*,)\\s*\"([A-Z][A-Z0-9_]*)\"");

    static final Path ROOT = findRoot();

    private Repo() {
    }

    /** Walks up from the working directory (Maven runs tests in the module) to the repo root. */
    private static Path findRoot() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("template.yaml")) && Files.isRegularFile(p.resolve("Makefile"))) {
                return p;
            }
        }
        throw new IllegalStateException("no template.yaml + Makefile above " + Path.of("").toAbsolutePath());
    }

    static Path path(String relative) {
        return ROOT.resolve(relative);
    }

    /** {@code io.cohortsync.webhook.WebhookHandler::handleRequest} → {@code functions/webhook}. */
    static String moduleOf(String handler) {
        String prefix = "io.cohortsync.";
        if (!handler.startsWith(prefix) || handler.indexOf('.', prefix.length()) < 0) {
            throw new AssertionError("handler " + handler + " is not in an io.cohortsync.<function> package");
        }
        return "functions/" + handler.substring(prefix.length(), handler.indexOf('.', prefix.length()));
    }

    /** Names of the environment variables the main sources under {@code module} read. */
    static Set<String> environmentReadBy(String module) {
        Set<String> names = new TreeSet<>();
        Path sources = path(module).resolve("src/main/java");
        try (Stream<Path> files = Files.walk(sources)) {
            for (Path f : (Iterable<Path>) files.filter(x -> x.toString().endsWith(".java"))::iterator) {
                Matcher m = ENV_READ.matcher(Files.readString(f));
                while (m.find()) {
                    names.add(m.group(1));
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return names;
    }
}
