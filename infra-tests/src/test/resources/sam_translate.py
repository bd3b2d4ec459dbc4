"""Transforms a packaged SAM template (JSON on stdin) into the CloudFormation template the
AWS::Serverless-2016-10-31 transform makes of it (JSON on stdout), with the aws-sam-translator that
cfn-lint uses. No AWS call is made: the functions have explicit roles, so no managed policy is looked
up, and the pseudo parameters only need a region name. Exit 2 with SAM's own messages on stderr when
the template is not valid SAM. Used by DeployWalkthroughIT."""
import json
import os
import sys

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from samtranslator import __version__ as sam_version  # noqa: E402
from samtranslator.public.exceptions import InvalidDocumentException  # noqa: E402
from samtranslator.translator.transform import transform  # noqa: E402


class NoManagedPolicies:
    """Managed policy names would be resolved to ARNs through IAM; this stack names none."""

    def load(self):
        return {}


def main():
    template = json.load(sys.stdin)
    try:
        translated = transform(template, {}, NoManagedPolicies())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(cause.message, file=sys.stderr)
        return 2
    print("aws-sam-translator " + sam_version, file=sys.stderr)
    json.dump(translated, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
