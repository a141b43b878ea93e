"""Data preparation stack: the workflow's shape, its triggers, its security and its alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import ENVIRONMENTS, SynthesizedPlatform, resources_of


def workflow(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    template = platform.template_json(env, "DataPrep")
    [(_, machine)] = resources_of(template, "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    # Tokens (function ARNs, the partition) sit inside JSON strings; any placeholder keeps it valid.
    return json.loads("".join(part if isinstance(part, str) else "TOKEN" for part in parts))


def states(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return definition["States"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_task_retries_and_catches_into_quarantine(platform: SynthesizedPlatform, env: str) -> None:
    all_states = states(workflow(platform, env))
    tasks = {name: state for name, state in all_states.items() if state["Type"] == "Task"}
    assert {"Classify", "Textract", "ExtractText", "Comprehend", "Transform", "Quarantine"} <= set(tasks)
    for name, state in tasks.items():
        assert state.get("Retry"), name
        [catch] = state["Catch"]
        assert catch["ErrorEquals"] == ["States.ALL"]
        if name != "Quarantine":
            assert all_states[catch["Next"]]["Next"] == "Quarantine"
    assert all_states["Quarantine"]["Next"] == "Quarantined"
    assert all_states["Quarantined"] == {
        "Type": "Fail",
        "Error": "DocumentQuarantined",
        "Cause": "The document is under quarantine/ with its error record",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_throttling_is_retried_with_backoff_but_bad_documents_are_not(platform: SynthesizedPlatform, env: str) -> None:
    for name, state in states(workflow(platform, env)).items():
        if state["Type"] != "Task" or name == "Labeling":
            continue
        errors = [error for retry in state["Retry"] for error in retry["ErrorEquals"]]
        assert "ThrottlingException" in errors and "DocumentError" not in errors and "States.ALL" not in errors
        assert all(retry.get("BackoffRate", 1) >= 2 for retry in state["Retry"])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_textract_pauses_on_a_task_token_with_a_timeout(platform: SynthesizedPlatform, env: str) -> None:
    textract = states(workflow(platform, env))["Textract"]
    assert textract["Resource"].endswith(":states:::lambda:invoke.waitForTaskToken")
    assert textract["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    assert textract["TimeoutSeconds"] == 7200
    route = states(workflow(platform, env))["Route"]
    assert route["Choices"] == [{"Variable": "$.document.route", "StringEquals": "textract", "Next": "Textract"}]


def test_labeling_runs_only_where_configured(platform: SynthesizedPlatform) -> None:
    assert "Labeling" not in states(workflow(platform, "dev"))
    staging = states(workflow(platform, "staging"))
    labeling = staging["Labeling"]
    assert labeling["Resource"] == "arn:aws:states:::sagemaker:createLabelingJob.sync"
    config = labeling["Parameters"]
    assert config["OutputConfig"]["KmsKeyId"]
    assert config["HumanTaskConfig"]["NumberOfHumanWorkersPerDataObject"] == 3
    assert set(config["HumanTaskConfig"]) >= {"PreHumanTaskLambdaArn", "AnnotationConsolidationConfig", "WorkteamArn"}
    assert labeling["Retry"] and labeling["Catch"]
    assert staging["LabelsToRecords"]["Next"] == "Curated"
    template = platform.template_json("staging", "DataPrep")
    [(_, pool)] = resources_of(template, "AWS::Cognito::UserPool")
    assert pool["Properties"]["MfaConfiguration"] == "ON"
    assert pool["Properties"]["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert len(list(resources_of(template, "AWS::SageMaker::Workteam"))) == 1


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_documents_under_incoming_start_the_workflow(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "DataPrep")
    [(_, rule)] = resources_of(template, "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.s3"] and pattern["detail-type"] == ["Object Created"]
    assert pattern["detail"]["object"] == {"key": [{"prefix": "incoming/"}]}
    [target] = rule["Properties"]["Targets"]
    assert target["DeadLetterConfig"]["Arn"] and target["RetryPolicy"]["MaximumRetryAttempts"] == 8
    [(_, notifications)] = resources_of(platform.template_json(env, "DataLake"), "Custom::S3BucketNotifications")
    assert notifications["Properties"]["BucketName"]["Ref"].startswith("RawBucket")
    assert notifications["Properties"]["NotificationConfiguration"] == {"EventBridgeConfiguration": {}}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_workflow_is_logged_traced_and_alarmed(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "DataPrep")
    [(_, machine)] = resources_of(template, "AWS::StepFunctions::StateMachine")
    properties = machine["Properties"]
    assert properties["TracingConfiguration"] == {"Enabled": True}
    assert properties["LoggingConfiguration"]["Level"] == "ALL"
    assert properties["LoggingConfiguration"]["IncludeExecutionData"] is False
    metrics = {a["Properties"]["MetricName"] for _, a in resources_of(template, "AWS::CloudWatch::Alarm")}
    assert {
        "ExecutionsFailed",
        "ExecutionsTimedOut",
        "Errors",
        "Throttles",
        "ApproximateNumberOfMessagesVisible",
    } <= metrics


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_access_is_limited_to_the_workflows_prefixes(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "DataLake")
    policies = {k: p["Properties"] for k, p in resources_of(template, "AWS::IAM::ManagedPolicy")}
    [steps] = [p for k, p in policies.items() if k.startswith("DataPrepStepsAccess")]
    grants = [
        (resource["Fn::Join"][1][-1], action)
        for statement in steps["PolicyDocument"]["Statement"]
        for resource in (statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]])
        for action in (statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]])
    ]
    assert sorted({prefix for prefix, _ in grants}) == [
        "/fine-tuning/*",
        "/incoming/*",
        "/labeling/*",
        "/quarantine/*",
        "/retrieval/*",
        "/work/*",
    ]
    assert {action for prefix, action in grants if prefix == "/incoming/*"} == {"s3:GetObject", "s3:GetObjectVersion"}
    assert {action for _, action in grants} <= {"s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"}
