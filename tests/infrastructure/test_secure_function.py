"""SecureFunction: every default of DESIGN.md section 4, and it passes the gate on its own."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App, Duration, Stack
from aws_cdk.assertions import Template

from compliance.gate import add_compliance_gate
from llmops_constructs import python_bundling
from llmops_constructs.alarm_topic import AlarmTopic
from llmops_constructs.isolated_network import IsolatedNetwork
from llmops_constructs.platform_key import PlatformKey
from llmops_constructs.python_bundling import LocalPythonBundling
from llmops_constructs.retention import retention_days
from llmops_constructs.secure_function import POWERTOOLS_LAYER_SOURCE, FunctionPlatform, SecureFunction
from tests.conftest import REPO_ROOT

ECHO = Path(__file__).parent / "fixtures" / "echo_function"


def build(app: App) -> tuple[Stack, FunctionPlatform]:
    stack = Stack(app, "FunctionTest", env={"region": "eu-west-1"})
    key = PlatformKey(stack, "Key", description="test key", retain=False)
    key.allow_cloudwatch_logs()
    key.allow_service_publishers("cloudwatch.amazonaws.com", "sns.amazonaws.com")
    network = IsolatedNetwork(
        stack,
        "Network",
        cidr="10.0.0.0/16",
        max_azs=1,
        flow_log_key=key.key,
        flow_log_retention=retention_days(30),
        retain=False,
    )
    platform = FunctionPlatform(
        vpc=network.vpc,
        subnets=network.subnets,
        security_groups=(network.workload_security_group,),
        encryption_key=key.key,
        alarm_topic=AlarmTopic(stack, "Alarms", encryption_key=key.key, email=None),
        log_retention=retention_days(90),
    )
    SecureFunction(
        stack,
        "Echo",
        code_dir=ECHO,
        description="echoes its event",
        platform=platform,
        memory_size=512,
        timeout=Duration.seconds(20),
        reserved_concurrency=3,
    )
    return stack, platform


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    app = App(context={"aws:cdk:bundling-stacks": []})
    return Template.from_stack(build(app)[0]).to_json()


def _function(template: dict[str, Any]) -> dict[str, Any]:
    [function] = [
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::Lambda::Function" and logical_id.startswith("EchoFunction")
    ]
    return function


def test_runtime_memory_timeout_tracing_and_concurrency_are_explicit(template: dict[str, Any]) -> None:
    function = _function(template)
    assert function["Runtime"] == "python3.14"
    assert function["Architectures"] == ["arm64"]
    assert function["MemorySize"] == 512
    assert function["Timeout"] == 20
    assert function["TracingConfig"] == {"Mode": "Active"}
    assert function["ReservedConcurrentExecutions"] == 3
    assert function["LoggingConfig"]["LogFormat"] == "JSON"


def _logical_id(template: dict[str, Any], resource_type: str, prefix: str) -> str:
    [logical_id] = [k for k, r in template["Resources"].items() if r["Type"] == resource_type and k.startswith(prefix)]
    return logical_id


def test_function_runs_in_the_isolated_subnets_with_the_workload_group(template: dict[str, Any]) -> None:
    vpc_config = _function(template)["VpcConfig"]
    group = _logical_id(template, "AWS::EC2::SecurityGroup", "NetworkWorkloadSecurityGroup")
    assert vpc_config["SecurityGroupIds"] == [{"Fn::GetAtt": [group, "GroupId"]}]
    subnets = [k for k, r in template["Resources"].items() if r["Type"] == "AWS::EC2::Subnet"]
    assert vpc_config["SubnetIds"] == [{"Ref": subnet} for subnet in subnets]


def test_logs_and_environment_are_encrypted_with_the_given_key(template: dict[str, Any]) -> None:
    key = {"Fn::GetAtt": [_logical_id(template, "AWS::KMS::Key", "Key"), "Arn"]}
    function = _function(template)
    assert function["KmsKeyArn"] == key
    log_group_id = _logical_id(template, "AWS::Logs::LogGroup", "EchoLogGroup")
    log_group = template["Resources"][log_group_id]["Properties"]
    assert (log_group["KmsKeyId"], log_group["RetentionInDays"]) == (key, 90)
    assert function["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}


def test_failed_async_invocations_reach_an_encrypted_dead_letter_queue(template: dict[str, Any]) -> None:
    function = _function(template)
    queue_id = function["DeadLetterConfig"]["TargetArn"]["Fn::GetAtt"][0]
    assert queue_id.startswith("EchoDeadLetterQueue")
    assert "KmsMasterKeyId" in template["Resources"][queue_id]["Properties"]
    [invoke_config] = [
        r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::Lambda::EventInvokeConfig"
    ]
    assert invoke_config["MaximumRetryAttempts"] == 2
    assert invoke_config["DestinationConfig"]["OnFailure"]["Destination"] == {"Fn::GetAtt": [queue_id, "Arn"]}


def test_powertools_comes_from_a_pinned_layer(template: dict[str, Any]) -> None:
    function = _function(template)
    assert function["Layers"] == [{"Ref": _logical_id(template, "AWS::Lambda::LayerVersion", "PowertoolsLayer")}]
    assert function["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == "Echo"
    pinned = (POWERTOOLS_LAYER_SOURCE / "requirements.txt").read_text().strip()
    dev_pins = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    assert pinned in dev_pins, "the layer and the test environment must pin the same Powertools"


def test_errors_throttles_and_dead_letters_alarm_to_the_topic(template: dict[str, Any]) -> None:
    alarms = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert sorted(alarm["MetricName"] for alarm in alarms) == [
        "ApproximateNumberOfMessagesVisible",
        "Errors",
        "Throttles",
    ]
    topic = _logical_id(template, "AWS::SNS::Topic", "AlarmsTopic")
    for alarm in alarms:
        assert alarm["AlarmActions"] == alarm["OKActions"] == [{"Ref": topic}]


def test_a_missing_handler_file_is_a_clear_error(tmp_path: Path) -> None:
    app = App(context={"aws:cdk:bundling-stacks": []})
    stack, platform = build(app)
    with pytest.raises(ValueError, match=r"has no handler\.py for handler 'handler\.handler'"):
        SecureFunction(stack, "Broken", code_dir=tmp_path, description="x", platform=platform)


def test_the_construct_alone_passes_the_gate(tmp_path: Path) -> None:
    app = App(
        outdir=str(tmp_path),
        context={"aws:cdk:bundling-stacks": []},
        post_cli_context={"@aws-cdk/core:failSynthOnValidationErrors": True},
    )
    add_compliance_gate(app)
    build(app)
    app.synth()  # raises ValidationFailed on any unacknowledged finding


def test_local_bundling_copies_sources_without_caches(tmp_path: Path) -> None:
    source = tmp_path / "src"
    (source / "__pycache__").mkdir(parents=True)
    (source / "handler.py").write_text("def handler(event, context): ...\n")
    (source / "__pycache__" / "handler.cpython-311.pyc").write_bytes(b"")
    out = tmp_path / "out"
    assert LocalPythonBundling(source, python_version="3.14", architecture="arm64").try_bundle(str(out))
    assert sorted(p.name for p in out.iterdir()) == ["handler.py"]


def test_local_bundling_installs_requirements_for_the_lambda_platform(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[list[str]] = []
    monkeypatch.setattr(python_bundling.subprocess, "run", lambda args, check: calls.append(args))
    source = tmp_path / "layer"
    source.mkdir()
    (source / "requirements.txt").write_text("aws-lambda-powertools==3.37.0\n")
    out = tmp_path / "out"
    LocalPythonBundling(source, python_version="3.14", architecture="arm64", target_subdir="python").try_bundle(
        str(out)
    )
    [args] = calls
    assert args[args.index("--target") + 1] == str(out / "python")
    assert args[args.index("--platform") + 1] == "manylinux2014_aarch64"
    assert args[args.index("--python-version") + 1] == "3.14"
    assert "--only-binary=:all:" in args
    assert not (out / "python" / "requirements.txt").exists()  # a layer ships packages only


def test_permissions_live_in_a_customer_managed_policy_not_inline_or_aws_managed(template: dict[str, Any]) -> None:
    types = [r["Type"] for r in template["Resources"].values()]
    assert "AWS::IAM::Policy" not in types
    [role] = [
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::Role" and logical_id.startswith("EchoRole")
    ]
    assert "ManagedPolicyArns" not in role  # no AWS-managed policy
    [policy] = [
        r["Properties"]
        for logical_id, r in template["Resources"].items()
        if r["Type"] == "AWS::IAM::ManagedPolicy" and logical_id.startswith("EchoRoleGrantsPolicy")
    ]
    actions = {
        a
        for s in policy["PolicyDocument"]["Statement"]
        for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }
    assert {
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "sqs:SendMessage",
        "xray:PutTraceSegments",
        "ec2:CreateNetworkInterface",
        "kms:Decrypt",
    } <= actions
    assert policy["Roles"] == [
        {
            "Ref": next(
                k
                for k in template["Resources"]
                if k.startswith("EchoRole") and template["Resources"][k]["Type"] == "AWS::IAM::Role"
            )
        }
    ]
