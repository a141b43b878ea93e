"""Findings on the custom-resource providers that aws-cdk-lib adds on its own.

aws-cdk-lib adds one singleton Lambda-backed provider per stack for some features: closing
the VPC's default security group, and emptying dev buckets before deletion. Their code and
properties are aws-cdk-lib's, not ours; they run only during CloudFormation deployments.
"""

from __future__ import annotations

from aws_cdk import CfnResource, Stack

from llmops_constructs.acknowledge import skip_checkov

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
