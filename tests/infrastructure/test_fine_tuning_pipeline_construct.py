"""FineTuningPipeline: the grant orchestration will use, and the helpers that bind the definition."""

from __future__ import annotations

import os

import pytest
from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from app import cdk_json_context
from llmops_constructs.fine_tuning_pipeline import bind, repository_arn
from stacks.config import load_platform_config
from stacks.stage import LlmOpsStage
from tests.conftest import CDK_CONTEXT

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def test_grant_start_execution_names_this_pipeline_and_its_executions() -> None:
    app = App(context=cdk_json_context())
    config = load_platform_config(CDK_CONTEXT["llmops"]).environment("dev")
    stage = LlmOpsStage(app, "LlmOps-dev", config=config, prompt_definitions=[])
    pipeline = stage.fine_tuning.pipeline
    role = iam.Role(stage.fine_tuning, "Orchestrator", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    grant = pipeline.grant_start_execution(role)
    assert grant.success
    policies = Template.from_stack(Stack.of(role)).find_resources("AWS::IAM::Policy")
    [policy] = policies.values()
    [granted] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert "sagemaker:StartPipelineExecution" in granted["Action"]
    rendered = str(granted["Resource"])
    assert pipeline.pipeline_name.lower() in rendered and "/execution/*" in rendered


def test_binding_refuses_a_placeholder_it_has_no_value_for() -> None:
    with pytest.raises(ValueError, match=r"Fn::Sub would read: \['Unbound'\]"):
        bind('{"a": "${Bound}", "b": "${Unbound}"}', {"Bound": "value"})


def test_repository_arns_come_from_image_uris() -> None:
    image = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-training:2.9.0-gpu-py312"
    assert repository_arn(image) == "arn:aws:ecr:eu-west-1:763104351884:repository/huggingface-pytorch-training"
    with pytest.raises(ValueError, match="not an ECR image URI"):
        repository_arn("public.ecr.aws/some/image:latest")
