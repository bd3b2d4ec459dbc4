package io.cohortsync.cli;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A parsed, checked command line: the command and its options. Options may come before or after the
 * command, as {@code --name value} or {@code --name=value}. Everything that can be checked without
 * AWS is checked here, so a bad command line fails before any call is made.
 *
 * @param command the command, or null when only the overview help was asked for
 * @param options option name to value ({@code "true"} for a flag)
 * @param help    whether help was asked for ({@code --help}, {@code -h}, or the command {@code help})
 */
record CommandLine(Command command, Map<String, String> options, boolean help) {
    private static final String FLAG = "true";

    CommandLine {
        options = Map.copyOf(options);
    }

    static CommandLine parse(List<String> args) throws UsageException {
        if (args.contains("--help") || args.contains("-h") || (!args.isEmpty() && args.getFirst().equals("help"))) {
            // Help wins over anything else on the line, so `replay --max x --help` still shows replay's help.
            Command about = args.stream().map(Command::named).flatMap(Optional::stream).findFirst().orElse(null);
            return new CommandLine(about, Map.of(), true);
        }
        Command command = null;
        Map<String, String> options = new LinkedHashMap<>();
        for (int i = 0; i < args.size(); i++) {
            String arg = args.get(i);
            if (arg.startsWith("--")) {
                int eq = arg.indexOf('=');
                String name = eq < 0 ? arg : arg.substring(0, eq);
                Optional<Boolean> takesValue = Command.takesValue(name);
                if (takesValue.isEmpty()) {
                    throw new UsageException("unknown option " + name);
                }
                String value;
                if (!takesValue.get()) {
                    if (eq >= 0) {
                        throw new UsageException(name + " takes no value");
                    }
                    value = FLAG;
                } else if (eq >= 0) {
                    value = arg.substring(eq + 1);
                } else if (i + 1 < args.size() && !args.get(i + 1).startsWith("--")) {
                    value = args.get(++i);
                } else {
                    throw new UsageException(name + " needs a value");
                }
                if (takesValue.get() && value.isBlank()) {
                    throw new UsageException(name + " needs a value");
                }
                if (options.put(name, value) != null) {
                    throw new UsageException(name + " is given twice");
                }
            } else if (arg.startsWith("-") && arg.length() > 1) {
                throw new UsageException("unknown option " + arg);
            } else if (command == null) {
                String name = arg;
                command = Command.named(name).orElseThrow(() -> new UsageException("unknown command '" + name
                        + "' (commands: " + String.join(", ", Command.names()) + ")"));
            } else {
                throw new UsageException("unexpected argument '" + arg + "'");
            }
        }
        if (command == null) {
            throw new UsageException("no command given (commands: " + String.join(", ", Command.names()) + ")");
        }
        CommandLine line = new CommandLine(command, options, false);
        line.check();
        return line;
    }

    boolean has(String option) {
        return options.containsKey(option);
    }

    /** The queue pair {@code rejected} and {@code replay} work on. */
    QueuePair queuePair() {
        return has(Command.RECONCILE) ? QueuePair.RECONCILE : QueuePair.DELTAS;
    }

    /** The resources this line needs: the command's, or with {@code --reconcile} its reconcile ones. */
    Set<Resource> resources() {
        return has(Command.RECONCILE) ? command.reconcileResources : command.resources;
    }

    /** The option's value, or null when absent. */
    String value(String option) {
        return options.get(option);
    }

    /** The option as a number >= 1 (its format is checked by {@link #parse}), or {@code absent} when not given. */
    int positive(String option, int absent) {
        String v = options.get(option);
        return v == null ? absent : Integer.parseInt(v);
    }

    private void check() throws UsageException {
        Map<String, Boolean> allowed = command.options();
        for (String option : options.keySet()) {
            if (!allowed.containsKey(option)) {
                throw new UsageException(option + " is not an option of " + command.name);
            }
        }
        for (String option : List.of("--limit", "--max", "--rate")) {
            String v = options.get(option);
            if (v != null && !v.matches("[1-9][0-9]{0,8}")) {
                throw new UsageException(option + " must be a whole number >= 1, was '" + v + "'");
            }
        }
        Set<Resource> needed = resources();
        for (Resource r : command.allResources()) {
            if (has(r.flag) && !needed.contains(r)) {
                throw new UsageException(r.flag + (has(Command.RECONCILE) ? " does not go with " + Command.RECONCILE
                        : " goes with " + Command.RECONCILE));
            }
        }
        boolean explicit = needed.stream().anyMatch(r -> has(r.flag));
        if (has("--local")) {
            if (has("--stack")) {
                throw new UsageException("--local and --stack exclude each other");
            }
            if (explicit) {
                throw new UsageException("--local uses the make local resources; drop "
                        + String.join(", ", needed.stream().map(r -> r.flag).filter(this::has).sorted().toList()));
            }
            if (has("--region")) {
                throw new UsageException("--region does not apply to --local (make local uses us-east-1)");
            }
        } else if (!has("--stack")) {
            List<String> missing = needed.stream().filter(r -> !has(r.flag)).map(r -> r.flag).sorted().toList();
            if (!missing.isEmpty()) {
                throw new UsageException(command.name + (has(Command.RECONCILE) ? " " + Command.RECONCILE : "")
                        + " needs --stack NAME, --local, or " + String.join(" and ", missing));
            }
        }
        if (command == Command.BACKFILL) {
            if (!has("--project")) {
                throw new UsageException("backfill needs --project P");
            }
            if (has("--cohort") == has("--all")) {
                throw new UsageException("backfill needs either --cohort C or --all");
            }
            if (has("--name") && !has("--cohort")) {
                throw new UsageException("--name goes with --cohort (with --all every cohort needs a stored name)");
            }
        }
    }
}
