"""The project pack's rules, on the properties they read and through a real synth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_opensearchserverless as aoss
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_stepfunctions as sfn

from compliance.project_pack import (
    LlmOpsChecks,
    global_table_recoverable,
    opensearch_serverless_customer_key,
    opensearch_serverless_not_public,
    pipeline_jobs_without_protection,
    sagemaker_data_capture_encrypted,
    sagemaker_model_in_vpc,
    sagemaker_model_network_isolation,
    tasks_without_retry_and_catch,
)

ISOLATED_MODEL = {
    "EnableNetworkIsolation": True,
    "VpcConfig": {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
}


def test_model_rules() -> None:
    assert sagemaker_model_network_isolation(ISOLATED_MODEL)
    assert not sagemaker_model_network_isolation({})
    assert not sagemaker_model_network_isolation({"EnableNetworkIsolation": False})
    assert sagemaker_model_in_vpc(ISOLATED_MODEL)
    assert not sagemaker_model_in_vpc({"VpcConfig": {"Subnets": ["subnet-1"]}})
    assert not sagemaker_model_in_vpc({})


def test_data_capture_needs_a_key_only_when_capturing() -> None:
    assert sagemaker_data_capture_encrypted({})
    assert sagemaker_data_capture_encrypted({"DataCaptureConfig": {"EnableCapture": False}})
    assert not sagemaker_data_capture_encrypted({"DataCaptureConfig": {"EnableCapture": True}})
    assert sagemaker_data_capture_encrypted({"DataCaptureConfig": {"EnableCapture": True, "KmsKeyId": "arn:key"}})


@pytest.mark.parametrize(
    ("policy", "compliant"),
    [
        ([{"Rules": [{"ResourceType": "collection"}], "AllowFromPublic": True}], False),
        ([{"Rules": [{"ResourceType": "collection"}], "AllowFromPublic": False, "SourceVPCEs": ["vpce-1"]}], True),
        (json.dumps([{"AllowFromPublic": True}]), False),
    ],
)
def test_aoss_network_policy(policy: Any, compliant: bool) -> None:
    assert opensearch_serverless_not_public({"Type": "network", "Policy": policy}) is compliant
    assert opensearch_serverless_not_public({"Type": "encryption", "Policy": policy})


def test_aoss_encryption_policy() -> None:
    assert not opensearch_serverless_customer_key({"Type": "encryption", "Policy": {"AWSOwnedKey": True}})
    assert opensearch_serverless_customer_key(
        {"Type": "encryption", "Policy": json.dumps({"AWSOwnedKey": False, "KmsARN": "arn:key"})}
    )


def test_global_table_needs_pitr_and_deletion_protection_on_every_replica() -> None:
    good = {"DeletionProtectionEnabled": True, "PointInTimeRecoverySpecification": {"PointInTimeRecoveryEnabled": True}}
    assert global_table_recoverable({"Replicas": [good, good]})
    assert not global_table_recoverable({"Replicas": [good, {**good, "DeletionProtectionEnabled": False}]})
    assert not global_table_recoverable({"Replicas": [{"DeletionProtectionEnabled": True}]})
    assert not global_table_recoverable({"Replicas": []})


def test_state_machine_tasks_need_retry_and_catch_including_nested_ones() -> None:
    handled = {
        "Type": "Task",
        "Resource": "arn",
        "Retry": [{"ErrorEquals": ["States.ALL"]}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Failed"}],
        "End": True,
    }
    definition = {
        "StartAt": "Good",
        "States": {
            "Good": handled,
            "NoCatch": {"Type": "Task", "Resource": "arn", "Retry": [{"ErrorEquals": ["States.ALL"]}], "End": True},
            "Fan": {"Type": "Parallel", "Branches": [{"StartAt": "Inner", "States": {"Inner": {"Type": "Task"}}}]},
            "Each": {"Type": "Map", "ItemProcessor": {"StartAt": "Item", "States": {"Item": {"Type": "Task"}}}},
            "Wait": {"Type": "Wait", "Seconds": 1, "End": True},
        },
    }
    assert tasks_without_retry_and_catch({"DefinitionString": json.dumps(definition)}) == ["Inner", "Item", "NoCatch"]
    joined = {
        "Fn::Join": ["", ['{"StartAt":"T","States":{"T":{"Type":"Task","Resource":"', {"Ref": "Fn"}, '","End":true}}}']]
    }
    assert tasks_without_retry_and_catch({"DefinitionString": joined}) == ["T"]


def _findings(stack: Stack) -> set[str]:
    report = LlmOpsChecks().validate_scope(stack)
    return {f"{v.rule_name}@{r.construct_path}" for v in report.violations for r in v.violating_resources}


def test_pack_sees_l1_resources_and_state_machines(tmp_path: Path) -> None:
    stack = Stack(App(outdir=str(tmp_path)), "Pack")
    sagemaker.CfnEndpointConfig(
        stack,
        "Config",
        production_variants=[
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name="a", model_name="m", initial_instance_count=1, instance_type="ml.g5.xlarge"
            )
        ],
        data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
            capture_options=[sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input")],
            destination_s3_uri="s3://bucket/capture",
            initial_sampling_percentage=100,
            enable_capture=True,
        ),
    )
    aoss.CfnSecurityPolicy(
        stack, "Network", name="net", type="network", policy=json.dumps([{"Rules": [], "AllowFromPublic": True}])
    )
    dynamodb.CfnGlobalTable(
        stack,
        "Table",
        attribute_definitions=[
            dynamodb.CfnGlobalTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        key_schema=[dynamodb.CfnGlobalTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        replicas=[dynamodb.CfnGlobalTable.ReplicaSpecificationProperty(region="eu-west-1")],
        billing_mode="PAY_PER_REQUEST",
    )
    task = sfn.CustomState(stack, "Call", state_json={"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke"})
    sfn.StateMachine(stack, "Flow", definition_body=sfn.DefinitionBody.from_chainable(task))

    assert _findings(stack) == {
        "LlmOps-SageMakerDataCaptureEncrypted@Pack/Config",
        "LlmOps-AossNoPublicNetwork@Pack/Network",
        "LlmOps-GlobalTableRecoverable@Pack/Table",
        "LlmOps-StepFunctionsTaskRetryCatch[Call]@Pack/Flow/Resource",
    }


def _job(step_type: str, *, isolated: bool = True, keys: bool = True, count: int = 1, encrypted: bool = True) -> Any:
    vpc = {"Subnets": ["${Subnet0}"], "SecurityGroupIds": ["${SecurityGroup}"]}
    network = {"EnableNetworkIsolation": isolated, "VpcConfig": vpc, "EnableInterContainerTrafficEncryption": encrypted}
    key = "${DataKeyArn}" if keys else None
    if step_type == "Training":
        arguments = network | {
            "ResourceConfig": {"InstanceCount": count, "VolumeKmsKeyId": key},
            "OutputDataConfig": {"KmsKeyId": key},
        }
    else:
        arguments = {
            "NetworkConfig": network,
            "ProcessingResources": {"ClusterConfig": {"InstanceCount": count, "VolumeKmsKeyId": key}},
            "ProcessingOutputConfig": {"KmsKeyId": key},
        }
    return {"Type": step_type, "Arguments": arguments}


def test_pipeline_jobs_need_isolation_vpc_and_encryption_even_inside_conditions() -> None:
    steps = [
        _job("Processing") | {"Name": "Good"},
        _job("Training", count=2, encrypted=False) | {"Name": "Train"},
        {
            "Name": "Check",
            "Type": "Condition",
            "Arguments": {
                "IfSteps": [_job("Processing", isolated=False, keys=False) | {"Name": "Late"}],
                "ElseSteps": [{"Name": "Stop", "Type": "Fail", "Arguments": {}}],
            },
        },
    ]
    body = json.dumps({"Version": "2020-12-01", "Steps": steps})
    for wrapped in (body, {"Fn::Sub": [body, {"DataKeyArn": {"Ref": "Key"}}]}, {"Fn::Join": ["", [body]]}):
        assert pipeline_jobs_without_protection({"PipelineDefinition": {"PipelineDefinitionBody": wrapped}}) == [
            "Late: network isolation, volume KMS key, output KMS key",
            "Train: inter-container encryption",
        ]
    assert pipeline_jobs_without_protection({"PipelineDefinition": {"PipelineDefinitionBody": "not json"}}) == []


def test_pack_flags_an_unprotected_pipeline_job(tmp_path: Path) -> None:
    stack = Stack(App(outdir=str(tmp_path)), "Pipelines")
    body = json.dumps({"Version": "2020-12-01", "Steps": [_job("Training", isolated=False) | {"Name": "Train"}]})
    sagemaker.CfnPipeline(
        stack,
        "Pipeline",
        pipeline_name="p",
        role_arn="arn:aws:iam::111111111111:role/r",
        pipeline_definition={"PipelineDefinitionBody": body},
    )
    assert _findings(stack) == {"LlmOps-SageMakerPipelineJobProtection[Train: network isolation]@Pipelines/Pipeline"}
