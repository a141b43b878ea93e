"""The SDK helper: offline settings, and config validation done once per config, never skipped."""

from __future__ import annotations

import os

import jsonschema
import pytest

from pipelines.sagemaker_sdk import TELEMETRY_OPT_OUT, image_uri, pipeline_session


def test_sessions_are_offline_and_opted_out_of_telemetry() -> None:
    session = pipeline_session("eu-west-1", "bucket")
    assert os.environ["AWS_EC2_METADATA_DISABLED"] == "true"
    assert os.environ["SAGEMAKER_VALIDATE_ROLE"] == "false"
    assert session.sagemaker_config == TELEMETRY_OPT_OUT
    assert session.boto_session.get_credentials().access_key == "offline"


def test_an_invalid_sdk_config_is_still_refused() -> None:
    pipeline_session("eu-west-1", "bucket")
    from sagemaker.core.config.config_manager import SageMakerConfig

    SageMakerConfig().validate_sagemaker_config(TELEMETRY_OPT_OUT)
    with pytest.raises(jsonschema.ValidationError):
        SageMakerConfig().validate_sagemaker_config({"SchemaVersion": "1.0", "SageMaker": {"Unknown": True}})
    with pytest.raises(jsonschema.ValidationError):  # a refused config is not remembered as valid
        SageMakerConfig().validate_sagemaker_config({"SchemaVersion": "1.0", "SageMaker": {"Unknown": True}})


def test_image_uris_come_from_the_sdk_data() -> None:
    uri = image_uri("sklearn", "eu-west-1", version="1.4-2", instance_type="ml.m5.large", image_scope="training")
    assert uri == "141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-cpu-py3"
