"""FineTuningPipeline on its own: the grant orchestration will use, and the helpers that bind the definition."""

from __future__ import annotations

import os

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from app import cdk_json_context
from llmops_constructs.fine_tuning_pipeline import FineTuningPipeline, bind, repository_arn
from stacks.config import EnvironmentConfig

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


def test_grant_start_execution_names_this_pipeline_and_its_executions() -> None:
    stack = Stack(App(context=cdk_json_context()), "Pipelines", env=Environment(region="eu-west-1"))
    vpc = ec2.Vpc(
        stack,
        "Vpc",
        max_azs=1,
        nat_gateways=0,
        subnet_configuration=[ec2.SubnetConfiguration(name="Isolated", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
    )
    data_policy = iam.ManagedPolicy(
        stack, "Data", statements=[iam.PolicyStatement(actions=["s3:GetObject"], resources=["arn:aws:s3:::b/k"])]
    )
    pipeline = FineTuningPipeline(
        stack,
        "FineTuning",
        config=EnvironmentConfig(name="dev", region="eu-west-1", removal_policy="destroy"),
        vpc=vpc,
        subnets=ec2.SubnetSelection(subnet_group_name="Isolated"),
        data_key=kms.Key(stack, "Key"),
        artifacts_bucket=s3.Bucket(stack, "Artifacts"),
        curated_bucket=s3.Bucket(stack, "Curated"),
        job_data_policy=data_policy,
        pipeline_data_policy=data_policy,
        model_package_group_name="models",
    )
    role = iam.Role(stack, "Orchestrator", assumed_by=iam.ServicePrincipal("states.amazonaws.com"))
    assert pipeline.grant_start_execution(role).success

    policies = Template.from_stack(stack).find_resources("AWS::IAM::Policy")
    [policy] = policies.values()  # the pipeline's own roles keep their grants in managed policies
    [granted] = policy["Properties"]["PolicyDocument"]["Statement"]
    assert "sagemaker:StartPipelineExecution" in granted["Action"]
    rendered = str(granted["Resource"])
    assert f"pipeline/{pipeline.pipeline_name.lower()}" in rendered
    assert f"pipeline/{pipeline.pipeline_name.lower()}/execution/*" in rendered


def test_binding_refuses_a_placeholder_it_has_no_value_for() -> None:
    with pytest.raises(ValueError, match=r"Fn::Sub would read: \['Unbound'\]"):
        bind('{"a": "${Bound}", "b": "${Unbound}"}', {"Bound": "value"})


def test_repository_arns_come_from_image_uris() -> None:
    image = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/huggingface-pytorch-training:2.9.0-gpu-py312"
    assert repository_arn(image) == "arn:aws:ecr:eu-west-1:763104351884:repository/huggingface-pytorch-training"
    with pytest.raises(ValueError, match="not an ECR image URI"):
        repository_arn("public.ecr.aws/some/image:latest")
