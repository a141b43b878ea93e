"""The SageMaker Python SDK (v3) at synth: offline, with nothing uploaded and nothing looked up.

Import the SDK only through ``pipeline_session``: it sets what the SDK reads from the
environment before its first import (region, no instance metadata, no role validation, no
telemetry) and gives it a session whose credentials are fake, so any call that would reach
AWS fails instead of silently working on a developer's machine.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from typing import Any

TELEMETRY_OPT_OUT = {"SchemaVersion": "1.0", "SageMaker": {"PythonSDK": {"Modules": {"TelemetryOptOut": True}}}}


def _offline_environment(region: str) -> None:
    os.environ["AWS_DEFAULT_REGION"] = region
    os.environ["AWS_EC2_METADATA_DISABLED"] = "true"
    os.environ["SAGEMAKER_VALIDATE_ROLE"] = "false"


def _quiet_sdk_logs() -> None:
    """At every synth the SDK logs where it looked for its config and which job names it leaves to
    execution time: expected, not news. Its loggers are configured when it is imported."""
    for name in ("sagemaker", "sagemaker.config", "sagemaker.core", "sagemaker.mlops", "sagemaker.train"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _validate_each_config_once() -> None:
    """The SDK checks its config dict against a JSON schema on every setting it reads (about 40 times
    per pipeline), re-checking the schema itself each time: seconds per environment at synth. Our
    config never changes, so each distinct dict is validated once; an invalid one still raises."""
    from sagemaker.core.config.config_manager import SageMakerConfig

    validate = SageMakerConfig.validate_sagemaker_config
    if getattr(validate, "validated", None) is not None:
        return
    validated: set[str] = set()

    def validate_once(sagemaker_config: dict[str, Any] | None = None) -> None:
        key = json.dumps(sagemaker_config, sort_keys=True, default=str)
        if key not in validated:
            validate(sagemaker_config)
            validated.add(key)

    validate_once.validated = validated  # type: ignore[attr-defined]
    SageMakerConfig.validate_sagemaker_config = staticmethod(validate_once)


def pipeline_session(region: str, default_bucket: str) -> Any:
    """A ``PipelineSession``: SDK calls return step arguments instead of starting jobs."""
    _offline_environment(region)
    _validate_each_config_once()
    import boto3
    from sagemaker.core.workflow.pipeline_context import PipelineSession

    warnings.filterwarnings("ignore", message="Running within a PipelineSession", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"sagemaker\..*")
    _quiet_sdk_logs()
    boto_session = boto3.Session(
        region_name=region, aws_access_key_id="offline", aws_secret_access_key="offline", aws_session_token="offline"
    )
    return PipelineSession(boto_session=boto_session, default_bucket=default_bucket, sagemaker_config=TELEMETRY_OPT_OUT)


def image_uri(framework: str, region: str, **options: Any) -> str:
    """A container image URI from the SDK's packaged data."""
    _offline_environment(region)
    from sagemaker.core import image_uris

    _quiet_sdk_logs()
    uri: str = image_uris.retrieve(framework, region=region, **options)
    return uri
