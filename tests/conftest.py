"""Session-wide fixtures: the platform's app is synthesized once, through the gate."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import App
from aws_cdk.assertions import Template

from app import build_app, cdk_json_context
from compliance.assembly import synthesized_stacks
from stacks.config import CONTEXT_KEY, PlatformConfig, load_platform_config

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parent.parent
CDK_CONTEXT: dict[str, Any] = json.loads((REPO_ROOT / "cdk.json").read_text())["context"]
# Bundling (pip installs for Lambda code and layers) is skipped: template tests do not need it.
TEST_CONTEXT = cdk_json_context()
ENVIRONMENTS = tuple(CDK_CONTEXT[CONTEXT_KEY]["environments"])
STACKS = ("Observability", "Network", "DataLake", "PromptCatalog", "DataPrep", "FineTuning")


@dataclass(frozen=True)
class SynthesizedPlatform:
    app: App
    outdir: Path
    report: dict[str, Any]

    def template(self, env: str, stack: str) -> Template:
        return Template.from_json(self.template_json(env, stack))

    def template_json(self, env: str, stack: str) -> dict[str, Any]:
        for synthesized in synthesized_stacks(self.outdir):
            if (synthesized.stage, synthesized.name) == (f"{PROJECT}-{env}", stack):
                return synthesized.template()
        raise KeyError(f"no stack {stack!r} in environment {env!r}")


PROJECT = CDK_CONTEXT[CONTEXT_KEY]["project"]


@pytest.fixture(scope="session")
def platform_config() -> PlatformConfig:
    return load_platform_config(CDK_CONTEXT[CONTEXT_KEY])


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> SynthesizedPlatform:
    """Every environment, synthesized once with the compliance gate recording (not raising).

    Template tests read the synthesized JSON (``Template.from_json`` runs no plugins), and the
    gate test asserts the validation report is clean, so one synth serves the whole session.
    """
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = App(
        outdir=str(outdir),
        context=TEST_CONTEXT,
        post_cli_context={"@aws-cdk/core:failSynthOnValidationErrors": False},
    )
    build_app(app)
    app.synth()
    report = json.loads((outdir / "validation-report.json").read_text())
    return SynthesizedPlatform(app=app, outdir=outdir, report=report)


_ASSET_HASH = re.compile(r"[0-9a-f]{64}")


def mask_asset_hashes(value: Any) -> Any:
    """Replace asset hashes (which change with any source byte) by a fixed marker."""
    if isinstance(value, dict):
        return {key: mask_asset_hashes(item) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_asset_hashes(item) for item in value]
    if isinstance(value, str):
        return _ASSET_HASH.sub("<asset-hash>", value)
    return value


def resources_of(template: dict[str, Any], resource_type: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == resource_type:
            yield logical_id, resource
