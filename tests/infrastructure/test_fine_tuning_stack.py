"""Fine-tuning stack: the pipeline definition cfn-lint cannot see into, its jobs' security, the registry.

The definition is read back from the synthesized template (``Fn::Sub`` of a JSON string whose
``${...}`` placeholders sit inside JSON strings), so these tests check what would be deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from pipelines.fine_tuning import METRIC_DEFINITIONS, STEP_NAMES
from stacks.config import PlatformConfig, sagemaker_instance_types
from tests.conftest import ENVIRONMENTS, SynthesizedPlatform, resources_of

JOB_STEP_TYPES = ("Processing", "Training")


def pipeline_resource(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    [(_, pipeline)] = resources_of(platform.template_json(env, "FineTuning"), "AWS::SageMaker::Pipeline")
    return pipeline


def definition(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    body = pipeline_resource(platform, env)["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    template, _ = body["Fn::Sub"]
    parsed: dict[str, Any] = json.loads(template)
    return parsed


def all_steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step["Type"] == "Condition":
            yield from all_steps(step["Arguments"]["IfSteps"] + step["Arguments"]["ElseSteps"])


def steps_by_name(platform: SynthesizedPlatform, env: str) -> dict[str, dict[str, Any]]:
    return {step["Name"]: step for step in all_steps(definition(platform, env)["Steps"])}


def parameter_defaults(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    return {p["Name"]: p.get("DefaultValue") for p in definition(platform, env)["Parameters"]}


def resolve(value: Any, defaults: dict[str, Any]) -> Any:
    """A literal, or a pipeline parameter's default value."""
    if isinstance(value, dict) and "Get" in value and value["Get"].startswith("Parameters."):
        return defaults[value["Get"].removeprefix("Parameters.")]
    return value


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_steps_run_preprocess_train_evaluate_then_register_or_fail(platform: SynthesizedPlatform, env: str) -> None:
    top = definition(platform, env)["Steps"]
    assert [(step["Name"], step["Type"]) for step in top] == [
        ("Preprocess", "Processing"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("CheckQuality", "Condition"),
    ]
    check = top[3]["Arguments"]
    assert [(s["Name"], s["Type"]) for s in check["IfSteps"]] == [("Register", "RegisterModel")]
    assert [(s["Name"], s["Type"]) for s in check["ElseSteps"]] == [("QualityGateFailed", "Fail")]
    assert set(steps_by_name(platform, env)) == set(STEP_NAMES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_parameters_cover_data_model_method_hyperparameters_and_instance(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    training = platform_config.environments[env].training
    defaults = parameter_defaults(platform, env)
    assert set(defaults) == {
        "InputDataUri", "BaseModelUri", "Method", "Epochs", "LearningRate", "PerDeviceBatchSize",
        "MaxSeqLength", "LoraRank", "TrainingInstanceType", "QualityThreshold",
    }  # fmt: skip
    assert defaults["Method"] == training.method
    assert defaults["TrainingInstanceType"] == training.instance_type
    assert defaults["QualityThreshold"] == training.quality_gate.threshold
    assert defaults["InputDataUri"] == "s3://${CuratedBucket}/fine-tuning/"
    assert defaults["BaseModelUri"] == f"s3://${{ArtifactsBucket}}/{training.base_model_prefix}"
    hyperparameters = steps_by_name(platform, env)["Train"]["Arguments"]["HyperParameters"]
    for name, parameter in {"method": "Method", "epochs": "Epochs", "learning_rate": "LearningRate"}.items():
        assert hyperparameters[name] == {"Get": f"Parameters.{parameter}"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_quality_condition_compares_the_configured_metric_with_its_threshold(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    gate = platform_config.environments[env].training.quality_gate
    steps = steps_by_name(platform, env)
    [condition] = steps["CheckQuality"]["Arguments"]["Conditions"]
    assert condition["Type"] == ("GreaterThanOrEqualTo" if gate.higher_is_better else "LessThanOrEqualTo")
    assert condition["LeftValue"]["Std:JsonGet"] == {
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.EvaluationReport"},
        "Path": f"metrics.{gate.metric}.value",
    }
    assert condition["RightValue"] == {"Get": "Parameters.QualityThreshold"}
    assert steps["Evaluate"]["PropertyFiles"] == [
        {"PropertyFileName": "EvaluationReport", "OutputName": "evaluation", "FilePath": "evaluation.json"}
    ]
    message = steps["QualityGateFailed"]["Arguments"]["ErrorMessage"]["Std:Join"]["Values"]
    assert message[0] == f"{gate.metric} is"
    assert message[1] == condition["LeftValue"]
    assert message[3] == {"Get": "Parameters.QualityThreshold"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_models_register_pending_approval_with_the_evaluation_report(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    register = steps_by_name(platform, env)["Register"]["Arguments"]
    assert register["ModelApprovalStatus"] == "PendingManualApproval"
    assert register["ModelPackageGroupName"] == "${ModelPackageGroup}"
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"] == [
        {"Get": "Steps.Evaluate.ProcessingOutputConfig.Outputs['evaluation'].S3Output.S3Uri"},
        "evaluation.json",
    ]
    [container] = register["InferenceSpecification"]["Containers"]
    assert container["ModelDataUrl"] == {"Get": "Steps.Train.ModelArtifacts.S3ModelArtifacts"}
    hosting = platform_config.environments[env].hosting
    expected_image = "tgi" if hosting.accelerator == "gpu" else "optimum"
    assert f"-{expected_image}" in container["Image"]
    assert register["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"] == [hosting.instance_type]


def job_steps(platform: SynthesizedPlatform, env: str) -> list[dict[str, Any]]:
    return [step for step in steps_by_name(platform, env).values() if step["Type"] in JOB_STEP_TYPES]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_job_is_isolated_in_the_vpc_with_encrypted_volumes_and_outputs(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    subnets = [f"${{Subnet{index}}}" for index in range(platform_config.environments[env].network.az_count)]
    for step in job_steps(platform, env):
        arguments = step["Arguments"]
        assert arguments["RoleArn"] == "${JobRoleArn}", step["Name"]
        if step["Type"] == "Training":
            network = {
                "EnableNetworkIsolation": arguments["EnableNetworkIsolation"],
                "EnableInterContainerTrafficEncryption": arguments["EnableInterContainerTrafficEncryption"],
                "VpcConfig": arguments["VpcConfig"],
            }
            volume_key = arguments["ResourceConfig"]["VolumeKmsKeyId"]
            output_key = arguments["OutputDataConfig"]["KmsKeyId"]
        else:
            network = arguments["NetworkConfig"]
            volume_key = arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"]
            output_key = arguments["ProcessingOutputConfig"]["KmsKeyId"]
        assert network["EnableNetworkIsolation"] is True, step["Name"]
        assert network["VpcConfig"] == {"SecurityGroupIds": ["${SecurityGroup}"], "Subnets": subnets}, step["Name"]
        assert volume_key == output_key == "${DataKeyArn}", step["Name"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_distributed_training_encrypts_traffic_between_its_nodes(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    training = platform_config.environments[env].training
    arguments = steps_by_name(platform, env)["Train"]["Arguments"]
    assert arguments["EnableInterContainerTrafficEncryption"] is training.distributed
    assert arguments["HyperParameters"]["sagemaker_torch_distributed_enabled"] == json.dumps(training.distributed)
    assert arguments["ResourceConfig"]["InstanceCount"] == training.instance_count


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_instance_type_is_one_sagemaker_offers(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    defaults = parameter_defaults(platform, env)
    steps = steps_by_name(platform, env)
    training_type = resolve(steps["Train"]["Arguments"]["ResourceConfig"]["InstanceType"], defaults)
    assert training_type in sagemaker_instance_types("TrainingInstanceType")
    for name in ("Preprocess", "Evaluate"):
        processing_type = steps[name]["Arguments"]["ProcessingResources"]["ClusterConfig"]["InstanceType"]
        assert resolve(processing_type, defaults) in sagemaker_instance_types("ProcessingInstanceType"), name
    serving = steps["Register"]["Arguments"]["InferenceSpecification"]["SupportedRealtimeInferenceInstanceTypes"]
    assert set(serving) <= set(sagemaker_instance_types("ProductionVariantInstanceType"))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_training_image_follows_the_accelerator(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    training = platform_config.environments[env].training
    image = steps_by_name(platform, env)["Train"]["Arguments"]["AlgorithmSpecification"]["TrainingImage"]
    method = next(p for p in definition(platform, env)["Parameters"] if p["Name"] == "Method")
    if training.accelerator == "trainium":
        assert image == training.neuron_image_uri
        assert "qlora" not in method["EnumValues"]
    else:
        assert re.fullmatch(
            r"\d{12}\.dkr\.ecr\.eu-west-1\.amazonaws\.com/huggingface-pytorch-training:.+-gpu-.+", image
        )
        assert "qlora" in method["EnumValues"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_jobs_get_their_code_from_the_bundle_and_report_metrics(platform: SynthesizedPlatform, env: str) -> None:
    steps = steps_by_name(platform, env)
    train = steps["Train"]["Arguments"]
    channels = {channel["ChannelName"]: channel for channel in train["InputDataConfig"]}
    assert set(channels) == {"code", "model", "train", "validation"}
    code_uri = channels["code"]["DataSource"]["S3DataSource"]["S3Uri"]
    bundle = code_uri.rsplit("/", 1)[1]
    assert code_uri == f"s3://${{CodeBucket}}/{bundle}"
    assert train["HyperParameters"]["sagemaker_submit_directory"] == f"/opt/ml/input/data/code/{bundle}"
    assert train["HyperParameters"]["sagemaker_program"] == "pipelines/scripts/train.py"
    assert {(m["Name"], m["Regex"]) for m in train["AlgorithmSpecification"]["MetricDefinitions"]} == set(
        METRIC_DEFINITIONS
    )
    for name, module in (("Preprocess", "preprocess"), ("Evaluate", "evaluate")):
        app = steps[name]["Arguments"]["AppSpecification"]
        assert app["ContainerEntrypoint"][:2] == ["/bin/sh", "-c"]
        assert f"tar -xzf /opt/ml/processing/input/code/{bundle}" in app["ContainerEntrypoint"][2]
        assert app["ContainerEntrypoint"][3] == f"pipelines.scripts.{module}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_placeholder_is_bound(platform: SynthesizedPlatform, env: str) -> None:
    template, variables = pipeline_resource(platform, env)["Properties"]["PipelineDefinition"][
        "PipelineDefinitionBody"
    ]["Fn::Sub"]
    assert set(re.findall(r"\$\{([^}]*)\}", template)) == set(variables)
    assert "000000000000" not in template


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_roles_are_split_between_starting_jobs_and_running_them(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "FineTuning")
    policies = {
        logical_id: [s for s in resource["Properties"]["PolicyDocument"]["Statement"]]
        for logical_id, resource in resources_of(template, "AWS::IAM::ManagedPolicy")
    }
    job_policy = next(statements for logical_id, statements in policies.items() if "JobRole" in logical_id)
    pipeline_policy = next(statements for logical_id, statements in policies.items() if "PipelineRole" in logical_id)

    def actions(statements: list[dict[str, Any]]) -> set[str]:
        return {a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}

    assert not {a for a in actions(job_policy) if a.startswith("sagemaker:") or a == "iam:PassRole"}
    assert {"sagemaker:CreateTrainingJob", "sagemaker:CreateProcessingJob", "sagemaker:CreateModelPackage"} <= actions(
        pipeline_policy
    )
    [pass_role] = [s for s in pipeline_policy if s["Action"] == "iam:PassRole"]
    [(job_role_id, _)] = [(i, r) for i, r in resources_of(template, "AWS::IAM::Role") if "JobRole" in i]
    assert pass_role["Resource"] == {"Fn::GetAtt": [job_role_id, "Arn"]}
    assert all(not a.endswith("*") for a in actions(job_policy) | actions(pipeline_policy))


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_approving_a_model_emits_an_event_for_hosting(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    template = platform.template_json(env, "FineTuning")
    [(_, group)] = resources_of(template, "AWS::SageMaker::ModelPackageGroup")
    retain = platform_config.environments[env].retains_data
    assert group["DeletionPolicy"] == ("Retain" if retain else "Delete")
    [(_, rule)] = resources_of(template, "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["source"] == ["aws.sagemaker"]
    assert pattern["detail-type"] == ["SageMaker Model Package State Change"]
    assert pattern["detail"] == {
        "ModelPackageGroupName": [group["Properties"]["ModelPackageGroupName"]],
        "ModelApprovalStatus": ["Approved"],
    }
    [target] = rule["Properties"]["Targets"]
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] == 8


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_failed_runs_alarm(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template_json(env, "FineTuning")
    alarms = [alarm["Properties"] for _, alarm in resources_of(template, "AWS::CloudWatch::Alarm")]
    failed = next(a for a in alarms if a.get("MetricName") == "ExecutionFailed")
    assert failed["Namespace"] == "AWS/Sagemaker/ModelBuildingPipeline"
    assert failed["Dimensions"] == [
        {"Name": "PipelineName", "Value": pipeline_resource(platform, env)["Properties"]["PipelineName"]}
    ]
    assert failed["AlarmActions"] and failed["OKActions"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_only_distributed_jobs_open_traffic_between_nodes(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    template = platform.template_json(env, "FineTuning")
    [(group_id, group)] = resources_of(template, "AWS::EC2::SecurityGroup")
    ingress = [r for _, r in resources_of(template, "AWS::EC2::SecurityGroupIngress")] + group["Properties"].get(
        "SecurityGroupIngress", []
    )
    if platform_config.environments[env].training.instance_count > 1:
        [rule] = ingress
        assert rule["Properties"]["SourceSecurityGroupId"] == {"Fn::GetAtt": [group_id, "GroupId"]}
    else:
        assert ingress == []
