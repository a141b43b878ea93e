"""app.py: reads cdk.json once, builds one stage per environment, fails clearly on bad config."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from aws_cdk import App, Stage

from app import build_app
from stacks.config import ConfigError
from stacks.stage import LlmOpsStage
from tests.conftest import CDK_CONTEXT, ENVIRONMENTS, PROJECT, REPO_ROOT, TEST_CONTEXT


def stage_ids(app: App) -> list[str]:
    return [child.node.id for child in app.node.children if isinstance(child, Stage)]


def test_every_configured_environment_gets_a_stage() -> None:
    app = build_app(App(context={**TEST_CONTEXT, "gate": "false"}))
    assert stage_ids(app) == [f"{PROJECT}-{env}" for env in ENVIRONMENTS]


def test_env_context_builds_one_environment() -> None:
    app = build_app(App(context={**TEST_CONTEXT, "env": "staging", "gate": "false"}))
    [stage] = [child for child in app.node.children if isinstance(child, LlmOpsStage)]
    assert stage.node.id == f"{PROJECT}-staging"
    assert stage.config.name == "staging"
    assert [stack.node.id for stack in (stage.observability, stage.network, stage.data_lake)] == [
        "Observability",
        "Network",
        "DataLake",
    ]


def test_unknown_env_context_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="environment 'qa' is not configured; expected one of dev, staging, prod"):
        build_app(App(context={**TEST_CONTEXT, "env": "qa"}))


def test_stages_deploy_to_the_configured_region() -> None:
    app = build_app(App(context={**TEST_CONTEXT, "gate": "false"}))
    for child in app.node.children:
        if isinstance(child, LlmOpsStage):
            assert child.region == CDK_CONTEXT["llmops"]["environments"][child.config.name]["region"]


def test_a_bad_cdk_json_stops_synth_with_one_message(tmp_path) -> None:  # type: ignore[no-untyped-def]
    context = json.loads(json.dumps(CDK_CONTEXT))
    context["llmops"]["environments"]["dev"]["hosting"]["instance_type"] = "ml.inf2.huge"
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO_ROOT,
        env={
            "CDK_CONTEXT_JSON": json.dumps(context),
            "CDK_OUTDIR": str(tmp_path),
            "PATH": "/usr/bin:/bin",
            "JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20",
        },
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "invalid configuration in cdk.json:\n"
        "  environments.dev.hosting.instance_type: 'ml.inf2.huge' is not a GPU hosting instance type; "
        "expected one of ml.g5.*, ml.g6.*, ml.g6e.*, ml.p4d.*, ml.p5.*"
    )
