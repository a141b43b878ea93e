"""Data lake: private, TLS-only, KMS-encrypted, versioned, logged buckets; retained in prod."""

from __future__ import annotations

from typing import Any

import pytest

from stacks.config import PlatformConfig
from tests.conftest import ENVIRONMENTS, SynthesizedPlatform, resources_of

ZONES = ("Raw", "Curated", "Artifacts")


def buckets(platform: SynthesizedPlatform, env: str) -> dict[str, dict[str, Any]]:
    """``{"Raw": <bucket resource>, ..., "AccessLogs": ...}`` by construct id."""
    found = {}
    for logical_id, bucket in resources_of(platform.template_json(env, "DataLake"), "AWS::S3::Bucket"):
        zone = next(name for name in (*ZONES, "AccessLogs") if logical_id.startswith(name + "Bucket"))
        found[zone] = bucket
    return found


def _key_id(platform: SynthesizedPlatform, env: str) -> str:
    keys = [logical_id for logical_id, _ in resources_of(platform.template_json(env, "DataLake"), "AWS::KMS::Key")]
    assert len(keys) == 1
    return keys[0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_four_buckets_under_a_rotating_customer_managed_key(platform: SynthesizedPlatform, env: str) -> None:
    assert set(buckets(platform, env)) == {*ZONES, "AccessLogs"}
    platform.template(env, "DataLake").has_resource_properties(
        "AWS::KMS::Key", {"EnableKeyRotation": True, "RotationPeriodInDays": 365}
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_zones_are_kms_encrypted_versioned_private_and_logged(platform: SynthesizedPlatform, env: str) -> None:
    found = buckets(platform, env)
    access_logs = next(
        logical_id
        for logical_id in platform.template_json(env, "DataLake")["Resources"]
        if logical_id.startswith("AccessLogsBucket")
        and platform.template_json(env, "DataLake")["Resources"][logical_id]["Type"] == "AWS::S3::Bucket"
    )
    for zone in ZONES:
        properties = found[zone]["Properties"]
        encryption = properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert encryption["ServerSideEncryptionByDefault"] == {
            "SSEAlgorithm": "aws:kms",
            "KMSMasterKeyID": {"Fn::GetAtt": [_key_id(platform, env), "Arn"]},
        }
        assert encryption["BucketKeyEnabled"] is True
        assert properties["VersioningConfiguration"] == {"Status": "Enabled"}
        assert properties["PublicAccessBlockConfiguration"] == {
            "BlockPublicAcls": True,
            "BlockPublicPolicy": True,
            "IgnorePublicAcls": True,
            "RestrictPublicBuckets": True,
        }
        assert properties["LoggingConfiguration"] == {
            "DestinationBucketName": {"Ref": access_logs},
            "LogFilePrefix": f"{zone}/",
        }
        assert properties["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_access_log_bucket_uses_sse_s3_and_expires_logs(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    properties = buckets(platform, env)["AccessLogs"]["Properties"]
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"] == {
        "SSEAlgorithm": "AES256"
    }
    assert "LoggingConfiguration" not in properties
    rule = properties["LifecycleConfiguration"]["Rules"][0]
    assert rule["ExpirationInDays"] == platform_config.environment(env).data_lake.access_log_expiration_days


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_bucket_refuses_plain_http_and_old_tls(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "DataLake")
    policies = [policy["Properties"] for _, policy in resources_of(template, "AWS::S3::BucketPolicy")]
    assert len(policies) == 4
    for policy in policies:
        statements = policy["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny"
            and s["Action"] == "s3:*"
            and s["Principal"] == {"AWS": "*"}
            and s.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
            for s in statements
        )
        assert any(
            s["Effect"] == "Deny" and s.get("Condition", {}).get("NumericLessThan") == {"s3:TlsVersion": 1.2}
            for s in statements
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_noncurrent_versions_expire_and_raw_data_transitions_as_configured(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    lake = platform_config.environment(env).data_lake
    found = buckets(platform, env)
    for zone in ZONES:
        rule = found[zone]["Properties"]["LifecycleConfiguration"]["Rules"][0]
        assert rule["Status"] == "Enabled"
        assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": lake.noncurrent_version_expiration_days}
        assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}
    raw_rule = found["Raw"]["Properties"]["LifecycleConfiguration"]["Rules"][0]
    assert raw_rule["Transitions"] == [
        {"StorageClass": t.storage_class, "TransitionInDays": t.after_days} for t in lake.raw_transitions
    ]
    assert "Transitions" not in found["Curated"]["Properties"]["LifecycleConfiguration"]["Rules"][0]


def test_prod_retains_every_stateful_resource_and_never_auto_deletes(platform: SynthesizedPlatform) -> None:
    template = platform.template_json("prod", "DataLake")
    stateful = [
        resource
        for resource in template["Resources"].values()
        if resource["Type"] in {"AWS::S3::Bucket", "AWS::KMS::Key"}
    ]
    assert len(stateful) == 5
    assert all(resource["DeletionPolicy"] == "Retain" for resource in stateful)
    assert all(resource["UpdateReplacePolicy"] == "Retain" for resource in stateful)
    assert not list(resources_of(template, "Custom::S3AutoDeleteObjects"))


def test_dev_destroys_and_empties_its_buckets(platform: SynthesizedPlatform) -> None:
    template = platform.template_json("dev", "DataLake")
    assert all(bucket["DeletionPolicy"] == "Delete" for bucket in buckets(platform, "dev").values())
    assert len(list(resources_of(template, "Custom::S3AutoDeleteObjects"))) == 4
    platform.template("dev", "DataLake").has_resource("AWS::KMS::Key", {"DeletionPolicy": "Delete"})
    platform.template("dev", "DataLake").has_resource_properties("AWS::KMS::Key", {"PendingWindowInDays": 7})
