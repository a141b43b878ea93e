"""Observability: the key logs and alarms are encrypted with, and the alarm topic."""

from __future__ import annotations

import pytest
from aws_cdk.assertions import Match

from tests.conftest import ENVIRONMENTS, STACKS, SynthesizedPlatform, resources_of


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_key_rotates_and_lets_logs_and_alarm_publishers_use_it(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "Observability")
    [(_, key)] = resources_of(template, "AWS::KMS::Key")
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = {s.get("Sid"): s for s in key["Properties"]["KeyPolicy"]["Statement"]}
    logs = statements["AllowCloudWatchLogs"]
    assert logs["Principal"] == {"Service": "logs.eu-west-1.amazonaws.com"}
    assert "kms:EncryptionContext:aws:logs:arn" in logs["Condition"]["ArnLike"]
    publishers = statements["AllowServicePublishers"]
    assert sorted(publishers["Principal"]["Service"]) == [
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "sns.amazonaws.com",
    ]
    assert publishers["Action"] == ["kms:Decrypt", "kms:GenerateDataKey*"]
    assert "aws:SourceAccount" in publishers["Condition"]["StringEquals"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_alarm_topic_is_encrypted_and_tls_only(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template(env, "Observability")
    template.has_resource_properties(
        "AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [Match.string_like_regexp("ObservabilityKey"), "Arn"]}}
    )
    template.has_resource_properties(
        "AWS::SNS::TopicPolicy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [Match.object_like({"Effect": "Deny", "Condition": {"Bool": {"aws:SecureTransport": "false"}}})]
                )
            }
        },
    )


def test_email_subscription_comes_from_config_with_a_dead_letter_queue(platform: SynthesizedPlatform) -> None:
    prod = platform.template("prod", "Observability")
    prod.has_resource_properties(
        "AWS::SNS::Subscription",
        {
            "Protocol": "email",
            "Endpoint": "ml-platform-oncall@example.com",
            "RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": [Match.any_value(), "Arn"]}},
        },
    )
    prod.has_resource_properties("AWS::SQS::Queue", {"KmsMasterKeyId": Match.any_value()})
    platform.template("dev", "Observability").resource_count_is("AWS::SNS::Subscription", 0)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_stack_is_tagged_with_its_environment_and_the_configured_tags(
    platform: SynthesizedPlatform, env: str
) -> None:
    for stack in STACKS:
        for _, key in resources_of(platform.template_json(env, stack), "AWS::KMS::Key"):
            tags = {tag["Key"]: tag["Value"] for tag in key["Properties"]["Tags"]}
            assert tags["llmops:environment"] == env
            assert tags["cost-center"] == "ml-platform"
