package io.cohortsync.infra;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.cohortsync.testkit.CfnTemplate;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README "Deploy", walked as far as it runs without an AWS account: template.yaml as {@code sam build}
 * rewrites it (each function's CodeUri becomes its artifact directory), as {@code sam deploy} packages it
 * (CodeUri becomes an S3 URI), transformed by the SAM translator cfn-lint uses (python aws-sam-translator,
 * as CloudFormation's AWS::Serverless transform would), and the README's instructions checked against
 * what SAM CLI will ask and what the stack will have. What {@code sam deploy --guided} asks is modelled on
 * SAM CLI's own source (samcli/commands/deploy/guided_context.py and auth_utils.py):
 * <ul>
 *   <li>one "Parameter NAME [default]" prompt per template parameter, in template order, the default being
 *       Python's {@code str()} of the template's Default; a NoEcho parameter gets no default at all and is
 *       asked again until something is typed, so the template must have none;</li>
 *   <li>one "FUNCTION may not have authorization defined, Is this okay? [y/N]" per Api/HttpApi event with no
 *       Auth on the event or on the API it names; N (the default) aborts the deployment.</li>
 * </ul>
 */
class DeployWalkthroughIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String AUTH_QUESTION = " may not have authorization defined, Is this okay? [y/N]: y";
    private static final Pattern OUTPUT_PLACEHOLDER = Pattern.compile("<([A-Z][A-Za-z0-9]*(?:Arn|Url|Name))>");
    private static final Pattern OUTPUT_KEY_QUERY = Pattern.compile("OutputKey=='([A-Za-z0-9]+)'");

    private static JsonNode built;
    private static JsonNode transformed;
    private static String deploySection;
    private static Map<String, String> samconfig;

    @BeforeAll
    static void buildPackageAndTransform(@TempDir Path work) throws Exception {
        // sam build: each function built into .aws-sam/build/<LogicalId>/, CodeUri pointing there, relative to
        // the built template (samcli/lib/build/app_builder.py update_template). The artifacts themselves are
        // SamBuildIT's business; here the directories stand for them.
        ObjectNode template = (ObjectNode) CfnTemplate.load(Repo.path("template.yaml")).root().deepCopy();
        Path buildDir = work.resolve(".aws-sam/build");
        List<String> makefile = Files.readAllLines(Repo.path("Makefile"));
        template.path("Resources").properties().forEach(r -> {
            if ("AWS::Serverless::Function".equals(r.getValue().path("Type").asText())) {
                assertThat(r.getValue().path("Metadata").path("BuildMethod").asText()).isEqualTo("makefile");
                assertThat(makefile).as("the target sam build runs for %s", r.getKey()).contains("build-" + r.getKey() + ":");
                try {
                    Files.createDirectories(buildDir.resolve(r.getKey()));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                ((ObjectNode) r.getValue().path("Properties")).put("CodeUri", r.getKey());
            }
        });
        built = template.deepCopy();

        // sam deploy packages: every local CodeUri is zipped and uploaded, the template then names the S3 object
        ObjectNode packaged = template.deepCopy();
        packaged.path("Resources").properties().forEach(r -> {
            JsonNode codeUri = r.getValue().path("Properties").get("CodeUri");
            if (codeUri != null) {
                assertThat(buildDir.resolve(codeUri.asText())).as("%s artifact directory", r.getKey()).isDirectory();
                ((ObjectNode) r.getValue().path("Properties")).put("CodeUri",
                        "s3://aws-sam-cli-managed-default-samclisourcebucket-example/cohort-sync/" + r.getKey());
            }
        });
        transformed = translate(packaged, work);

        String readme = Files.readString(Repo.path("README.md"));
        int start = readme.indexOf("\n## Deploy\n");
        assertThat(start).as("README has a Deploy section").isPositive();
        int end = readme.indexOf("\n## ", start + 1);
        deploySection = readme.substring(start, end < 0 ? readme.length() : end);
        samconfig = samconfig(Files.readAllLines(Repo.path("samconfig.toml")));
    }

    @Test
    void transform_turnsTheBuiltTemplateIntoPlainCloudFormation() {
        assertThat(transformed.has("Transform")).isFalse();
        Map<String, Integer> lambdas = new LinkedHashMap<>();
        transformed.path("Resources").properties().forEach(r -> {
            if ("AWS::Lambda::Function".equals(r.getValue().path("Type").asText())) {
                lambdas.merge(r.getKey(), 1, Integer::sum);
                assertThat(r.getValue().path("Properties").path("Code").path("S3Key").asText())
                        .as("%s code from the packaged artifact", r.getKey()).startsWith("cohort-sync/");
            }
        });
        assertThat(lambdas).containsOnlyKeys("WebhookFunction", "SenderFunction", "ReconcilerFunction");
    }

    @Test
    void guidedDeploy_asksWhatTheReadmeShows_withTheSameDefaults() {
        // given what SAM CLI will ask, from the built template and samconfig.toml
        List<String> expected = new ArrayList<>();
        expected.add("Stack Name [" + samconfig.get("stack_name") + "]:");
        expected.add("AWS Region [*]:"); // the user's default region, whatever it is
        built.path("Parameters").properties().forEach(p ->
                expected.add("Parameter " + p.getKey() + " [" + pythonStr(p.getValue().get("Default")) + "]:"));
        expected.add("Confirm changes before deploy " + ("true".equals(samconfig.get("confirm_changeset")) ? "[Y/n]:" : "[y/N]:"));
        expected.add("Allow SAM CLI IAM role creation [Y/n]:");
        expected.add("Disable rollback [y/N]:");
        authorizationPrompts().forEach(prompt -> expected.add(prompt.function() + AUTH_QUESTION));
        expected.add("Save arguments to configuration file [Y/n]:");
        expected.add("SAM configuration file [samconfig.toml]:");
        expected.add("SAM configuration environment [default]:");

        // when the README's transcript is read (SAM's own '#' hint lines aside)
        List<String> readme = guidedTranscript().stream().filter(l -> !l.startsWith("#"))
                .map(l -> l.startsWith("AWS Region [") ? "AWS Region [*]:" : l).toList();

        // then they are the same questions, in the same order, with the same defaults
        assertThat(readme).isEqualTo(expected);
    }

    @Test
    void guidedDeploy_hasADefaultForEveryParameter_andNoSecretToType() {
        // SAM CLI prompts a NoEcho parameter with no default and repeats on empty input (guided_context.py
        // prompt_parameters), so a first-time user would have to type something, which becomes the value.
        built.path("Parameters").properties().forEach(p -> {
            assertThat(p.getValue().path("NoEcho").asBoolean()).as("parameter %s is NoEcho", p.getKey()).isFalse();
            assertThat(p.getValue().has("Default")).as("parameter %s has a default", p.getKey()).isTrue();
        });
        assertThat(transformed.path("Parameters").size()).isEqualTo(built.path("Parameters").size());
    }

    @Test
    void configurationTable_listsEveryParameterWithItsDefault() {
        Map<String, String> documented = new LinkedHashMap<>();
        String readme = readmeText();
        int table = readme.indexOf("Template parameters (`sam deploy --guided` asks for each):");
        assertThat(table).isPositive();
        for (String line : readme.substring(table).lines().skip(3).takeWhile(l -> l.startsWith("|")).toList()) {
            String[] cells = line.split("\\|");
            List<String> names = backticked(cells[1]);
            List<String> defaults = cells[2].contains("(empty)") ? List.of("") : backticked(cells[2]);
            assertThat(defaults).as("defaults in %s", line).hasSameSizeAs(names);
            for (int i = 0; i < names.size(); i++) {
                documented.put(names.get(i), defaults.get(i));
            }
        }
        Map<String, String> actual = new LinkedHashMap<>();
        built.path("Parameters").properties().forEach(p -> actual.put(p.getKey(), pythonStr(p.getValue().get("Default"))));
        assertThat(new TreeSet<>(documented.keySet())).isEqualTo(new TreeSet<>(actual.keySet()));
        actual.forEach((name, value) -> assertThat(documented.get(name)).as("README default of %s", name).isEqualTo(value));
    }

    @Test
    void authorizationPrompts_areExplainedRouteByRoute() {
        List<AuthPrompt> prompts = authorizationPrompts();
        assertThat(prompts).as("the webhook's routes have no API Gateway authorizer: Basic auth is checked in code")
                .isNotEmpty();
        for (AuthPrompt prompt : prompts) {
            assertThat(deploySection).as("README Deploy names the route behind a prompt")
                    .contains("`" + prompt.method() + " " + prompt.path() + "`");
        }
        assertThat(deploySection).contains("answer `y`");
    }

    @Test
    void everyOutputTheReadmeSendsYouTo_existsInTheStack() {
        Set<String> outputs = new TreeSet<>();
        transformed.path("Outputs").fieldNames().forEachRemaining(outputs::add);

        Set<String> named = new LinkedHashSet<>();
        for (Pattern p : List.of(OUTPUT_PLACEHOLDER, OUTPUT_KEY_QUERY)) {
            Matcher m = p.matcher(deploySection);
            while (m.find()) {
                named.add(m.group(1));
            }
        }
        Set<String> tabled = outputsTable();
        assertThat(named).as("outputs the Deploy steps use").isNotEmpty();
        assertThat(outputs).as("stack outputs").containsAll(named).containsAll(tabled);
        assertThat(tabled).as("README Deploy step 3 lists every output").isEqualTo(outputs);
    }

    @Test
    void storingTheSegmentKey_usesTheOutputThatNamesItsSecret() {
        // the exact command of step 4: the secret's ARN from its output, then put-secret-value with {"writeKey"}
        Matcher m = OUTPUT_KEY_QUERY.matcher(deploySection);
        String output = null;
        while (m.find()) {
            JsonNode value = transformed.path("Outputs").path(m.group(1)).path("Value");
            if ("SegmentWriteKeySecret".equals(value.path("Ref").asText())) {
                output = m.group(1);
            }
        }
        assertThat(output).as("README reads the Segment secret's ARN from a stack output").isNotNull();
        String step4 = deploySection.substring(deploySection.indexOf("OutputKey=='" + output + "'"));
        assertThat(step4).contains("aws secretsmanager put-secret-value");
        assertThat(deploySection).contains("{\"writeKey\":\"<your write key>\"}");
        assertThat(transformed.path("Resources").path("SegmentWriteKeySecret").path("Properties").path("SecretString")
                .asText()).as("the placeholder the sender reports as not set").isEqualTo("{\"writeKey\":\"\"}");
    }

    @Test
    void samconfig_isEnoughForTheTransformedStack_andNamesTheSamCliItNeeds() {
        // CAPABILITY_IAM covers roles without a RoleName; a named role would need CAPABILITY_NAMED_IAM
        assertThat(samconfig.get("capabilities")).isEqualTo("CAPABILITY_IAM");
        transformed.path("Resources").properties().forEach(r -> {
            if (r.getValue().path("Type").asText().startsWith("AWS::IAM::")) {
                assertThat(r.getValue().path("Properties").has("RoleName")).as("%s RoleName", r.getKey()).isFalse();
            }
        });
        // resolve_s3 plus the bucket --guided saves breaks SAM CLI before 1.78.0: both files say so
        assertThat(samconfig.get("resolve_s3")).isEqualTo("true");
        assertThat(deploySection).contains("**1.78.0 or newer**");
        assertThat(String.join("\n", readLines("samconfig.toml"))).contains("SAM CLI >= 1.78.0");
    }

    // ---------------------------------------------------------------- SAM CLI's rules, from its source

    private record AuthPrompt(String function, String method, String path) {
    }

    /** samcli/commands/deploy/auth_utils.py: one prompt per Api/HttpApi event without Auth, function by function. */
    private static List<AuthPrompt> authorizationPrompts() {
        List<AuthPrompt> prompts = new ArrayList<>();
        built.path("Resources").properties().forEach(r -> {
            if (!"AWS::Serverless::Function".equals(r.getValue().path("Type").asText())) {
                return;
            }
            r.getValue().path("Properties").path("Events").properties().forEach(e -> {
                String type = e.getValue().path("Type").asText();
                if (!type.equals("Api") && !type.equals("HttpApi")) {
                    return;
                }
                JsonNode props = e.getValue().path("Properties");
                String apiId = CfnTemplate.referencedId(props.get(type.equals("Api") ? "RestApiId" : "ApiId"));
                JsonNode api = apiId == null ? JSON.createObjectNode() : built.path("Resources").path(apiId);
                boolean authorized = props.has("Auth") || api.path("Properties").has("Auth")
                        || api.path("Properties").path("DefinitionBody").toString().contains("\"security\"");
                if (!authorized) {
                    prompts.add(new AuthPrompt(r.getKey(), props.path("Method").asText().toUpperCase(),
                            props.path("Path").asText()));
                }
            });
        });
        return prompts;
    }

    /** Python's str() of a YAML default, as SAM CLI shows it (guided_context.py _get_parameter_value). */
    private static String pythonStr(JsonNode value) {
        if (value == null || value.isNull()) {
            return "";
        }
        if (value.isBoolean()) {
            return value.asBoolean() ? "True" : "False";
        }
        return value.asText();
    }

    // ---------------------------------------------------------------- README and samconfig.toml

    /** The ```text block after `sam deploy --guided` in README Deploy. */
    private static List<String> guidedTranscript() {
        int command = deploySection.indexOf("sam deploy --guided\n");
        assertThat(command).as("README Deploy runs sam deploy --guided").isPositive();
        int open = deploySection.indexOf("```text\n", command);
        assertThat(open).as("README Deploy shows the guided questions in a ```text block").isPositive();
        int close = deploySection.indexOf("\n```", open + 8);
        return deploySection.substring(open + 8, close).lines().map(String::strip).filter(l -> !l.isEmpty()).toList();
    }

    /** First column of README Deploy step 3's table: `Name`, or `A`, `B`. */
    private static Set<String> outputsTable() {
        int step = deploySection.indexOf("### 3. Read the outputs");
        assertThat(step).isPositive();
        Set<String> names = new TreeSet<>();
        deploySection.substring(step).lines().dropWhile(l -> !l.startsWith("| Output")).skip(2)
                .takeWhile(l -> l.startsWith("|")).forEach(l -> names.addAll(backticked(l.split("\\|")[1])));
        return names;
    }

    private static List<String> backticked(String cell) {
        List<String> out = new ArrayList<>();
        Matcher m = Pattern.compile("`([^`]*)`").matcher(cell);
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** {@code key = value} lines of samconfig.toml (quotes dropped); enough for the few keys checked here. */
    private static Map<String, String> samconfig(List<String> lines) {
        Map<String, String> values = new LinkedHashMap<>();
        for (String line : lines) {
            Matcher m = Pattern.compile("^\\s*([a-z0-9_]+)\\s*=\\s*\"?([^\"#]*?)\"?\\s*$").matcher(line);
            if (m.matches()) {
                values.putIfAbsent(m.group(1), m.group(2));
            }
        }
        return values;
    }

    private static String readmeText() {
        return String.join("\n", readLines("README.md"));
    }

    private static List<String> readLines(String file) {
        try {
            return Files.readAllLines(Repo.path(file));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- the SAM translator

    /** Runs sam_translate.py (python3, aws-sam-translator: what cfn-lint installs) on the packaged template. */
    private static JsonNode translate(JsonNode packaged, Path work) throws Exception {
        Path script = work.resolve("sam_translate.py");
        try (InputStream in = DeployWalkthroughIT.class.getResourceAsStream("/sam_translate.py")) {
            assertThat(in).as("sam_translate.py on the test classpath").isNotNull();
            Files.copy(in, script);
        }
        Path input = work.resolve("packaged.json");
        JSON.writeValue(input.toFile(), packaged);
        ProcessBuilder pb = new ProcessBuilder("python3", script.toString())
                .redirectInput(input.toFile());
        Process process = pb.start();
        try {
            CompletableFuture<byte[]> stdout = CompletableFuture.supplyAsync(() -> readAll(process.getInputStream()));
            CompletableFuture<byte[]> stderr = CompletableFuture.supplyAsync(() -> readAll(process.getErrorStream()));
            assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("the SAM translator finishes").isTrue();
            String errors = new String(stderr.get(), StandardCharsets.UTF_8);
            assertThat(process.exitValue()).as("python3 sam_translate.py (needs aws-sam-translator, which "
                    + "`pip install cfn-lint` installs): %s", errors).isZero();
            System.out.println("DeployWalkthroughIT: " + errors.strip());
            return JSON.readTree(stdout.get());
        } finally {
            process.destroyForcibly();
        }
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
