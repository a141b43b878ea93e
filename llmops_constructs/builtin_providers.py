"""Findings on the custom-resource providers that aws-cdk-lib adds on its own.

aws-cdk-lib adds one singleton Lambda-backed provider per stack for some features: closing
the VPC's default security group, and emptying dev buckets before deletion. Their code and
properties are aws-cdk-lib's, not ours; they run only during CloudFormation deployments.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack

from llmops_constructs.acknowledge import acknowledge, acknowledge_all, skip_checkov

NOTIFICATIONS_HANDLER = "BucketNotificationsHandler050a0587b7544547bf325f094a3db834"
PROVIDERS = {
    "Custom::VpcRestrictDefaultSGCustomResourceProvider": "closes the VPC's default security group",
    "Custom::S3AutoDeleteObjectsCustomResourceProvider": "empties dev buckets before CloudFormation deletes them",
}


def acknowledge_builtin_providers(stack: Stack) -> None:
    """Record why checkov's Lambda checks do not apply to aws-cdk-lib's deployment-time providers."""
    for provider_id, purpose in PROVIDERS.items():
        provider = stack.node.try_find_child(provider_id)
        if provider is None:
            continue
        handler = provider.node.find_child("Handler")
        assert isinstance(handler, CfnResource)
        why = f"aws-cdk-lib's provider that {purpose}; it runs only during CloudFormation deployments"
        skip_checkov(handler, "CKV_AWS_115", f"{why}, once per change, so it needs no concurrency limit")
        skip_checkov(handler, "CKV_AWS_116", f"{why}; CloudFormation itself reports and rolls back a failure")
        skip_checkov(handler, "CKV_AWS_117", f"{why} and calls only AWS control-plane APIs, outside the VPC")


def acknowledge_bucket_notifications(stack: Stack) -> None:
    """aws-cdk-lib's handler that turns on a bucket's EventBridge notifications at deploy time."""
    handler = stack.node.try_find_child(NOTIFICATIONS_HANDLER)
    if handler is None:
        return
    why = "aws-cdk-lib's deploy-time handler that turns on the raw bucket's EventBridge notifications"
    acknowledge(
        handler.node.find_child("Role"),
        "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
        "AWSLambdaBasicExecutionRole]",
        f"{why}; it only writes its own logs with this policy",
    )
    for construct in stack.node.find_all():
        if construct.node.path.endswith("/Notifications/HandlerPolicy"):
            acknowledge_all(
                construct,
                [
                    "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
                    "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
                ],
                f"{why}; aws-cdk-lib attaches its s3:PutBucketNotification permission inline",
            )
    function = handler.node.find_child("Resource")
    assert isinstance(function, CfnResource)
    for check, detail in (
        ("CKV_AWS_115", "runs once per deployment, so it needs no concurrency limit"),
        ("CKV_AWS_116", "CloudFormation reports and rolls back a failure"),
        ("CKV_AWS_117", "calls only the S3 control plane, outside the VPC"),
    ):
        skip_checkov(function, check, f"{why}; it {detail}")
