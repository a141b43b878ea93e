"""Configuration: cdk.json parses, and every mistake stops synth with a message naming it."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stacks.config import ConfigError, PlatformConfig, load_platform_config
from tests.conftest import CDK_CONTEXT

VALID: dict[str, Any] = {
    "environments": {
        "dev": {"region": "eu-west-1", "removal_policy": "destroy"},
        "prod": {
            "region": "eu-west-1",
            "removal_policy": "retain",
            "network": {"availability_zones": ["eu-west-1a", "eu-west-1b"]},
        },
    }
}


def error_for(change: Callable[[dict[str, Any]], None]) -> str:
    raw = copy.deepcopy(VALID)
    change(raw)
    with pytest.raises(ConfigError) as raised:
        load_platform_config(raw)
    return str(raised.value)


def dev(raw: dict[str, Any]) -> dict[str, Any]:
    return raw["environments"]["dev"]


def test_the_committed_cdk_json_is_valid() -> None:
    config = load_platform_config(CDK_CONTEXT["llmops"])
    assert set(config.environments) == {"dev", "staging", "prod"}
    assert config.environment("prod").retains_data
    assert not config.environment("dev").retains_data


def test_defaults_fill_in_what_an_environment_leaves_out() -> None:
    config = load_platform_config(VALID)
    dev_env = config.environment("dev")
    assert dev_env.name == "dev"
    assert dev_env.network.max_azs == 1
    assert dev_env.network.interface_endpoints == ()
    assert dev_env.hosting.min_instances == 0  # no always-on endpoint by default


NEURON_IMAGE = "763104351884.dkr.ecr.eu-west-1.amazonaws.com/pytorch-training-neuronx:2.8.0-neuronx-py311-sdk2.26.0"
TRAINIUM = {"accelerator": "trainium", "instance_type": "ml.trn1.32xlarge", "neuron_image_uri": NEURON_IMAGE}


@pytest.mark.parametrize(
    "training",
    [
        {"instance_type": "ml.g5.2xlarge", "instance_count": 2, "distributed": True},
        {"instance_type": "ml.g5.12xlarge", "distributed": True},
        {
            "accelerator": "trainium",
            "instance_type": "ml.trn1.32xlarge",
            "method": "lora",
            "distributed": True,
            "neuron_image_uri": NEURON_IMAGE,
        },
    ],
)
def test_distributed_runs_with_two_or_more_devices_are_accepted(training: dict[str, Any]) -> None:
    raw = copy.deepcopy(VALID)
    dev(raw)["training"] = training
    assert load_platform_config(raw).environment("dev").training.distributed


def test_config_is_frozen() -> None:
    config = load_platform_config(VALID)
    with pytest.raises(ValueError, match="frozen"):
        config.environment("dev").region = "us-east-1"  # type: ignore[misc]


MISTAKES: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "Trainium without the Neuron training image",
        lambda raw: dev(raw).update(training={"accelerator": "trainium", "instance_type": "ml.trn1.2xlarge"}),
        "environments.dev.training.neuron_image_uri: Trainium training needs the Neuron training container",
    ),
    (
        "Neuron image that is not an ECR URI",
        lambda raw: dev(raw).update(training=TRAINIUM | {"neuron_image_uri": "pytorch-training-neuronx:latest"}),
        "environments.dev.training.neuron_image_uri: 'pytorch-training-neuronx:latest' is not an ECR image URI",
    ),
    (
        "training instance SageMaker does not offer",
        lambda raw: dev(raw).update(training={"instance_type": "ml.p4d.xlarge"}),
        "environments.dev.training.instance_type: 'ml.p4d.xlarge' is not an instance type SageMaker training offers",
    ),
    (
        "processing instance SageMaker does not offer",
        lambda raw: dev(raw).update(training={"evaluation_instance_type": "ml.trn1.2xlarge"}),
        "environments.dev.training.evaluation_instance_type: 'ml.trn1.2xlarge' is not a SageMaker processing "
        "instance type",
    ),
    (
        "several instances without a distributed run",
        lambda raw: dev(raw).update(training={"instance_type": "ml.g5.2xlarge", "instance_count": 2}),
        "environments.dev.training.distributed: instance_count 2 without a distributed run would train 2 unrelated "
        "copies; set distributed to true, or instance_count to 1",
    ),
    (
        "quality threshold outside the metric's range",
        lambda raw: dev(raw).update(training={"quality_gate": {"metric": "rouge_l", "threshold": 20}}),
        "environments.dev.training.quality_gate.threshold: 20.0 is out of range: rouge_l lies between 0 and 1",
    ),
    (
        "base model location that is not a key prefix",
        lambda raw: dev(raw).update(training={"base_model_prefix": "s3://bucket/models"}),
        "environments.dev.training.base_model_prefix: 's3://bucket/models' is not an S3 key prefix",
    ),
    (
        "unknown key",
        lambda raw: dev(raw).update(colour="red"),
        "environments.dev.colour: unknown key; allowed keys: account, region, removal_policy, network, "
        "data_lake, observability, training, hosting, vector_store, prompt_catalog, data_prep, tags",
    ),
    (
        "unknown nested key",
        lambda raw: dev(raw).update(network={"nat_gateways": 1}),
        "environments.dev.network.nat_gateways: unknown key; allowed keys: cidr, max_azs, availability_zones, "
        "interface_endpoints, flow_log_retention_days",
    ),
    (
        "wrong type",
        lambda raw: dev(raw).update(network={"max_azs": "two"}),
        "environments.dev.network.max_azs: 'two' is invalid; input should be a valid integer",
    ),
    (
        "boolean where a count belongs",
        lambda raw: dev(raw).update(training={"instance_count": True}),
        "environments.dev.training.instance_count: True is invalid; input should be a valid integer",
    ),
    (
        "unknown region",
        lambda raw: dev(raw).update(region="eu-nowhere-1"),
        "environments.dev.region: 'eu-nowhere-1' is not an AWS region; expected one of af-south-1,",
    ),
    (
        "Inferentia instance type of the wrong family",
        lambda raw: dev(raw).update(hosting={"accelerator": "inferentia2", "instance_type": "ml.g5.xlarge"}),
        "environments.dev.hosting.instance_type: 'ml.g5.xlarge' is not an Inferentia2 instance type; "
        "expected one of ml.inf2.*",
    ),
    (
        "instance type that does not exist",
        lambda raw: dev(raw).update(hosting={"accelerator": "inferentia2", "instance_type": "ml.inf2.huge"}),
        "environments.dev.hosting.instance_type: 'ml.inf2.huge' is not an Inferentia2 instance type",
    ),
    (
        "GPU instance for Trainium training",
        lambda raw: dev(raw).update(training={"accelerator": "trainium", "instance_type": "ml.p4d.24xlarge"}),
        "environments.dev.training.instance_type: 'ml.p4d.24xlarge' is not a Trainium training instance type; "
        "expected one of ml.trn1.*, ml.trn1n.*, ml.trn2.*",
    ),
    (
        "QLoRA on Trainium",
        lambda raw: dev(raw).update(training=TRAINIUM | {"method": "qlora"}),
        "environments.dev.training.method: 'qlora' needs bitsandbytes 4-bit kernels, which Trainium does not run",
    ),
    (
        "Inferentia instance for training",
        lambda raw: dev(raw).update(training={"instance_type": "ml.inf2.24xlarge"}),
        "environments.dev.training.instance_type: 'ml.inf2.24xlarge' is an Inferentia2 instance: it serves models "
        "but cannot train them",
    ),
    (
        "distributed run with one device",
        lambda raw: dev(raw).update(training={"instance_type": "ml.g5.2xlarge", "distributed": True}),
        "environments.dev.training.distributed: a distributed run needs at least two devices; 1 x ml.g5.2xlarge has 1",
    ),
    (
        "unknown fine-tuning method",
        lambda raw: dev(raw).update(training={"method": "dora"}),
        "environments.dev.training.method: 'dora' is invalid; input should be 'full', 'lora', 'qlora',",
    ),
    (
        "negative count",
        lambda raw: dev(raw).update(training={"instance_count": -1}),
        "environments.dev.training.instance_count: -1 is invalid; input should be greater than 0",
    ),
    (
        "zero count",
        lambda raw: dev(raw).update(hosting={"max_instances": 0}),
        "environments.dev.hosting.max_instances: 0 is invalid; input should be greater than 0",
    ),
    (
        "min above max",
        lambda raw: dev(raw).update(hosting={"min_instances": 3, "max_instances": 2}),
        "environments.dev.hosting.max_instances: 2 is below min_instances (3)",
    ),
    (
        "unknown enum value",
        lambda raw: dev(raw).update(vector_store={"engine": "pinecone"}),
        "environments.dev.vector_store.engine: 'pinecone' is invalid; input should be "
        "'opensearch-serverless', 'aurora-pgvector' or 'kendra'",
    ),
    (
        "missing required key",
        lambda raw: dev(raw).pop("removal_policy"),
        "environments.dev.removal_policy: required key is missing",
    ),
    (
        "S3 transition the service refuses",
        lambda raw: dev(raw).update(data_lake={"raw_transitions": [{"storage_class": "STANDARD_IA", "after_days": 7}]}),
        "environments.dev.data_lake.raw_transitions: STANDARD_IA after 7 days is refused by S3; "
        "expected after_days of at least 30",
    ),
    (
        "transitions out of order",
        lambda raw: dev(raw).update(
            data_lake={
                "raw_transitions": [
                    {"storage_class": "GLACIER", "after_days": 90},
                    {"storage_class": "INTELLIGENT_TIERING", "after_days": 30},
                ]
            }
        ),
        "environments.dev.data_lake.raw_transitions: after_days must strictly increase; got [90, 30]",
    ),
    (
        "unsupported interface endpoint",
        lambda raw: dev(raw).update(network={"interface_endpoints": ["s3x"]}),
        "environments.dev.network.interface_endpoints: 's3x' is not a supported interface endpoint; "
        "expected any of bedrock-runtime,",
    ),
    (
        "CIDR too large",
        lambda raw: dev(raw).update(network={"cidr": "10.0.0.0/8"}),
        "environments.dev.network.cidr: '10.0.0.0/8' has a /8 prefix; expected /16 to /22",
    ),
    (
        "log retention CloudWatch does not offer",
        lambda raw: dev(raw).update(observability={"log_retention_days": 45}),
        "environments.dev.observability.log_retention_days: 45 is not a CloudWatch Logs retention; "
        "expected one of 1, 3, 5,",
    ),
    (
        "malformed alarm e-mail",
        lambda raw: dev(raw).update(observability={"alarm_email": "oncall"}),
        "environments.dev.observability.alarm_email: 'oncall' is not an e-mail address",
    ),
    (
        "account id of the wrong shape",
        lambda raw: dev(raw).update(account="12345"),
        "environments.dev.account: '12345' is not a 12-digit AWS account id",
    ),
    (
        "availability zone of another region",
        lambda raw: dev(raw).update(network={"availability_zones": ["us-east-1a"]}),
        "environments.dev.network.availability_zones: 'us-east-1a' is not in region 'eu-west-1'",
    ),
    (
        "labeling without labels",
        lambda raw: dev(raw).update(data_prep={"labeling": {"enabled": True, "labels": ["only"]}}),
        "environments.dev.data_prep.labeling: labeling is enabled: list at least two labels under labels",
    ),
    (
        "prod that would delete its data",
        lambda raw: raw["environments"]["prod"].update(removal_policy="destroy"),
        "environments.prod.removal_policy: 'destroy' would delete production data; expected 'retain'",
    ),
    (
        "prod in one availability zone",
        lambda raw: raw["environments"]["prod"].update(network={"max_azs": 1}),
        "environments.prod.network: 1 availability zone is a single point of failure; expected at least 2",
    ),
    (
        "environment name that cannot be a stage id",
        lambda raw: raw["environments"].update({"Dev_1": {"region": "eu-west-1", "removal_policy": "destroy"}}),
        "environments.Dev_1: the name must match",
    ),
]


@pytest.mark.parametrize(("change", "expected"), [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_mistake_names_the_key_the_value_and_what_is_allowed(
    change: Callable[[dict[str, Any]], None], expected: str
) -> None:
    message = error_for(change)
    assert message.startswith("invalid configuration in cdk.json:\n  ")
    assert expected in message


def test_every_mistake_is_reported_at_once() -> None:
    message = error_for(lambda raw: dev(raw).update(region="mars-1", removal_policy="sometimes"))
    assert "environments.dev.region: 'mars-1'" in message
    assert "environments.dev.removal_policy: 'sometimes' is invalid" in message


@pytest.mark.parametrize("raw", [None, [], "dev"])
def test_a_context_value_that_is_not_an_object_is_refused(raw: Any) -> None:
    with pytest.raises(ConfigError, match="context key 'llmops' must be an object"):
        load_platform_config(raw)


def test_no_environment_at_all_is_refused() -> None:
    with pytest.raises(ConfigError, match="environments: at least one environment is required"):
        load_platform_config({"environments": {}})


def test_asking_for_an_unconfigured_environment_names_the_configured_ones() -> None:
    config: PlatformConfig = load_platform_config(VALID)
    with pytest.raises(ConfigError, match="environment 'qa' is not configured; expected one of dev, prod"):
        config.environment("qa")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5000) | st.sampled_from(["", "gpu", "ml.g5.xlarge", "eu-west-1", "x"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)
environment_keys = st.sampled_from(
    [
        "region",
        "removal_policy",
        "network",
        "data_lake",
        "observability",
        "training",
        "hosting",
        "vector_store",
        "tags",
        "account",
        "unknown",
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(environment_keys, json_values, max_size=6))
def test_any_malformed_environment_is_a_config_error_never_a_crash(environment: dict[str, Any]) -> None:
    try:
        config = load_platform_config({"environments": {"dev": environment}})
    except ConfigError as error:
        assert str(error).startswith("invalid configuration in cdk.json:\n  environments.dev")
    else:
        assert config.environment("dev").region in environment.values()
