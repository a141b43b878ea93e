"""The security gate: clean for the platform, and it still bites."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker

from app import build_app
from compliance.gate import add_compliance_gate, compliance_packs
from tests.conftest import PROJECT, TEST_CONTEXT, SynthesizedPlatform


def test_every_environment_synthesizes_with_zero_unacknowledged_findings(platform: SynthesizedPlatform) -> None:
    """A clean report lists no plugins at all; the canaries below prove build_app registers them."""
    unacknowledged = [
        (report["pluginName"], violation["ruleName"], [c["constructPath"] for c in violation["violatingConstructs"]])
        for report in platform.report["pluginReports"]
        for violation in report["violations"]
    ]
    assert unacknowledged == []
    assert all(report["conclusion"] == "success" for report in platform.report["pluginReports"])


def _violations(exc_info: pytest.ExceptionInfo[BaseException], outdir: Path) -> set[tuple[str, str]]:
    assert "ValidationFailed" in str(exc_info.value)
    report: dict[str, Any] = json.loads((outdir / "validation-report.json").read_text())
    return {
        (violation["ruleName"], construct["constructPath"])
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }


def test_the_platform_app_rejects_a_deliberately_insecure_bucket(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), context={**TEST_CONTEXT, "env": "dev"})
    build_app(app)
    data_lake = app.node.find_child(f"{PROJECT}-dev").node.find_child("DataLake")
    assert isinstance(data_lake, Stack)
    s3.Bucket(data_lake, "CanaryBucket")  # no KMS, no logging, no TLS enforcement, no versioning

    with pytest.raises(RuntimeError) as raised:
        app.synth()

    violations = _violations(raised, tmp_path)
    path = f"{PROJECT}-dev/DataLake/CanaryBucket/Resource"
    assert ("AwsSolutions-S1", path) in violations
    assert ("AwsSolutions-S10", path) in violations
    assert ("NIST.800.53.R5-S3DefaultEncryptionKMS", path) in violations
    assert ("HIPAA.Security-S3BucketVersioningEnabled", path) in violations


def test_the_project_pack_rejects_a_model_without_network_isolation(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    add_compliance_gate(app)
    stack = Stack(app, "Canary")
    sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn="arn:aws:iam::123456789012:role/canary",
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/canary:1"
        ),
    )

    with pytest.raises(RuntimeError) as raised:
        app.synth()

    violations = _violations(raised, tmp_path)
    assert ("LlmOps-SageMakerModelNetworkIsolation", "Canary/Model") in violations
    assert ("LlmOps-SageMakerModelVpc", "Canary/Model") in violations


def test_an_acknowledgement_is_the_only_way_past_the_gate(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path))
    add_compliance_gate(app)
    stack = Stack(app, "Canary")
    bucket = s3.Bucket(
        stack,
        "Bucket",
        encryption=s3.BucketEncryption.S3_MANAGED,
        enforce_ssl=True,
        versioned=True,
        block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
    )
    from llmops_constructs.acknowledge import acknowledge_all

    acknowledge_all(
        bucket,
        [
            "AwsSolutions::AwsSolutions-S1",
            "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
            "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
            "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
            "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
        ],
        "canary: every finding of this bucket is acknowledged in this test",
    )
    app.synth()  # does not raise


def test_every_acknowledgement_still_matches_a_finding(platform: SynthesizedPlatform) -> None:
    """An acknowledgement that no longer suppresses anything is stale and must be removed."""
    raw_findings: set[tuple[str, str]] = set()
    for pack in compliance_packs(App()):
        for violation in pack.validate_scope(platform.app).violations:
            for resource in violation.violating_resources:
                raw_findings.add((f"{pack.read_pack_name}::{violation.rule_name}", resource.construct_path))

    stale = []
    for construct in platform.app.node.find_all():
        for entry in construct.node.metadata:
            if entry.type != Validations.ACKNOWLEDGED_RULES_METADATA_KEY:
                continue
            for rule in entry.data:
                if rule.startswith("CloudFormation-Validate::"):
                    continue  # recorded by aws-cdk-lib itself
                prefix = construct.node.path + "/"
                if not any(r == rule and (p + "/").startswith(prefix) for r, p in raw_findings):
                    stale.append((construct.node.path, rule))
    assert stale == []
