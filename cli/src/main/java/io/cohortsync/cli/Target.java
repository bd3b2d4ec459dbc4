package io.cohortsync.cli;

import software.amazon.awssdk.services.cloudformation.CloudFormationClient;
import software.amazon.awssdk.services.cloudformation.model.CloudFormationException;
import software.amazon.awssdk.services.cloudformation.model.Output;
import software.amazon.awssdk.services.cloudformation.model.Stack;
import software.amazon.awssdk.services.sqs.model.QueueDoesNotExistException;

import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * The resources a command works on (table name, queue URLs), resolved once: from {@code make local}'s
 * fixed names, or from explicit flags, falling back to a CloudFormation stack's outputs.
 *
 * @param where     for the report: "stack cohort-sync, region eu-west-1", "region eu-west-1" (explicit
 *                  resources), "make local at http://…"
 * @param resources only those the command needs
 */
record Target(String where, Map<Resource, String> resources) {
    Target {
        resources = Map.copyOf(resources);
    }

    String get(Resource resource) {
        String value = resources.get(resource);
        if (value == null) {
            throw new IllegalStateException(resource + " was not resolved");
        }
        return value;
    }

    static Target resolve(CommandOptions line, AwsAccess aws) throws SetupException {
        Map<Resource, String> resolved = new EnumMap<>(Resource.class);
        if (line.local) {
            for (Resource r : line.resources()) {
                resolved.put(r, r == Resource.TABLE ? r.localName : localQueueUrl(aws, r));
            }
            return new Target(aws.description(), resolved);
        }
        String stack = line.stack;
        Map<String, String> outputs = stack == null ? Map.of() : stackOutputs(aws.cloudFormation(), stack, aws);
        for (Resource r : line.resources()) {
            String value = line.has(r.flag) ? line.value(r.flag) : outputs.get(r.stackOutput);
            if (value == null || value.isBlank()) {
                // The parser already demands the flags when no stack is named.
                throw new SetupException("stack " + stack + " has no output " + r.stackOutput + " (" + r.description
                        + "): is it a cohort-sync stack? Or give " + r.flag);
            }
            resolved.put(r, value);
        }
        return new Target(stack == null ? aws.description() : "stack " + stack + ", " + aws.description(), resolved);
    }

    private static String localQueueUrl(AwsAccess aws, Resource queue) throws SetupException {
        try {
            return aws.sqs().getQueueUrl(b -> b.queueName(queue.localName)).queueUrl();
        } catch (QueueDoesNotExistException e) {
            throw new SetupException("no queue " + queue.localName + " at " + aws.description()
                    + ": is `make local` running against that emulator?");
        }
    }

    private static Map<String, String> stackOutputs(CloudFormationClient cf, String stack, AwsAccess aws)
            throws SetupException {
        Stack found;
        try {
            found = cf.describeStacks(b -> b.stackName(stack)).stacks().stream().findFirst().orElse(null);
        } catch (CloudFormationException e) {
            // DescribeStacks answers 400 ValidationError "Stack with id X does not exist".
            if (e.awsErrorDetails() != null && "ValidationError".equals(e.awsErrorDetails().errorCode())
                    && String.valueOf(e.awsErrorDetails().errorMessage()).contains("does not exist")) {
                throw new SetupException("stack " + stack + " not found in " + aws.description()
                        + " (check --stack and --region / AWS_REGION)");
            }
            throw e;
        }
        if (found == null) {
            throw new SetupException("stack " + stack + " not found in " + aws.description());
        }
        Map<String, String> outputs = new HashMap<>();
        for (Output o : found.outputs()) {
            outputs.put(o.outputKey(), o.outputValue());
        }
        return outputs;
    }
}
