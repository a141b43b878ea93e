"""FineTuningPipeline's grant: what orchestration will be given to start runs."""

from __future__ import annotations

import os

from aws_cdk import App, Stack
from aws_cdk import aws_iam as iam
from aws_cdk.assertions import Template

from app import cdk_json_context
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
