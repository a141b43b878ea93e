#!/usr/bin/env python3
"""The CDK app: the only place that reads context and the environment.

``-c env=dev`` synthesizes one environment; without it every configured environment is built.
``-c gate=false`` skips the compliance packs (tests that only inspect templates use it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from aws_cdk import App

from compliance.gate import add_compliance_gate
from prompt_catalog.files import PromptFileError, load_prompt_definitions
from stacks.config import CONTEXT_KEY, ConfigError, PlatformConfig, load_platform_config
from stacks.stage import LlmOpsStage

ROOT = Path(__file__).resolve().parent
PROMPTS_DIR = ROOT / "prompts"
# Skips asset bundling (pip installs) when a tool builds the app only to read its templates.
NO_BUNDLING: dict[str, Any] = {"aws:cdk:bundling-stacks": []}


def cdk_json_context(**overrides: Any) -> dict[str, Any]:
    """The context ``cdk.json`` gives the app, for tests and tools that build it without the CLI."""
    context: dict[str, Any] = json.loads((ROOT / "cdk.json").read_text())["context"]
    return {**context, **NO_BUNDLING, **overrides}


def build_app(app: App) -> App:
    config = load_platform_config(app.node.try_get_context(CONTEXT_KEY))
    prompt_definitions = load_prompt_definitions(PROMPTS_DIR)
    for env_name in selected_environments(app, config):
        LlmOpsStage(
            app,
            f"{config.project}-{env_name}",
            config=config.environment(env_name),
            prompt_definitions=prompt_definitions,
        )
    if str(app.node.try_get_context("gate")).lower() != "false":
        add_compliance_gate(app)
    return app


def selected_environments(app: App, config: PlatformConfig) -> list[str]:
    only = app.node.try_get_context("env")
    if only is None:
        return list(config.environments)
    config.environment(only)
    return [only]


# The CDK CLI asks the app not to fail on validation errors and then only records them; the
# gate must stop synth, so this setting outranks the CLI's.
GATE_CONTEXT = {"@aws-cdk/core:failSynthOnValidationErrors": True}


def main() -> None:
    try:
        app = build_app(App(post_cli_context=GATE_CONTEXT))
    except (ConfigError, PromptFileError) as error:
        sys.exit(str(error))
    app.synth()


if __name__ == "__main__":
    main()
