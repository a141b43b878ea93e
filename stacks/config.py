"""Typed platform configuration, parsed once from cdk.json by app.py.

Every difference between environments is data in ``cdk.json`` under the ``llmops`` context
key. ``load_platform_config`` turns that data into frozen models or raises ``ConfigError``
with one message that names each bad key path, the bad value and what is allowed.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

CONTEXT_KEY = "llmops"

AWS_REGIONS: tuple[str, ...] = (
    "af-south-1",
    "ap-east-1",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
)

# Interface endpoint service names as AWS spells them after "com.amazonaws.<region>.".
INTERFACE_ENDPOINT_SERVICES: tuple[str, ...] = (
    "bedrock-runtime",
    "comprehend",
    "ecr.api",
    "ecr.dkr",
    "events",
    "kendra",
    "kms",
    "lambda",
    "logs",
    "monitoring",
    "sagemaker.api",
    "sagemaker.runtime",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "states",
    "sts",
    "textract",
    "xray",
)

GPU_TRAINING_FAMILIES = ("g5", "g6", "g6e", "p4d", "p4de", "p5", "p5e", "p5en")
TRAINIUM_FAMILIES = ("trn1", "trn1n", "trn2")
GPU_HOSTING_FAMILIES = ("g5", "g6", "g6e", "p4d", "p5")
INFERENTIA2_FAMILIES = ("inf2",)
INSTANCE_SIZES = (
    "xlarge",
    "2xlarge",
    "4xlarge",
    "8xlarge",
    "12xlarge",
    "16xlarge",
    "24xlarge",
    "48xlarge",
    "32xlarge",
)

LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)

_NAME = re.compile(r"^[a-z][a-z0-9-]{1,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ConfigError(ValueError):
    """A configuration in cdk.json that cannot be deployed."""


Accelerator = Literal["gpu", "trainium", "inferentia2"]
VectorStoreEngine = Literal["opensearch-serverless", "aurora-pgvector", "kendra"]
StorageClass = Literal["INTELLIGENT_TIERING", "STANDARD_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"]


PositiveInt = Annotated[int, Field(strict=True, gt=0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _instance_family(instance_type: str) -> str | None:
    match = re.fullmatch(r"ml\.([a-z0-9]+)\.([a-z0-9]+)", instance_type)
    if match is None or match.group(2) not in INSTANCE_SIZES:
        return None
    return match.group(1)


def _check_instance_type(instance_type: str, families: tuple[str, ...], kind: str) -> str:
    if _instance_family(instance_type) not in families:
        allowed = ", ".join(f"ml.{family}.*" for family in families)
        raise ValueError(f"{instance_type!r} is not {kind} instance type; expected one of {allowed}")
    return instance_type


class NetworkConfig(_Model):
    cidr: str = "10.0.0.0/16"
    max_azs: Annotated[int, Field(strict=True, ge=1, le=3)] = 1
    availability_zones: tuple[str, ...] = ()
    interface_endpoints: tuple[str, ...] = ()
    flow_log_retention_days: Annotated[int, Field(strict=True)] = 90

    @field_validator("cidr")
    @classmethod
    def _cidr(cls, value: str) -> str:
        match = re.fullmatch(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})/(\d{1,2})", value)
        if match is None or any(int(octet) > 255 for octet in match.groups()[:4]):
            raise ValueError(f"{value!r} is not an IPv4 CIDR block such as '10.0.0.0/16'")
        if not 16 <= int(match.group(5)) <= 22:
            raise ValueError(f"{value!r} has a /{match.group(5)} prefix; expected /16 to /22")
        return value

    @field_validator("availability_zones")
    @classmethod
    def _zones(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for zone in value:
            if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", zone):
                raise ValueError(f"{zone!r} is not an availability zone name such as 'eu-west-1a'")
        if len(set(value)) != len(value):
            raise ValueError("lists an availability zone more than once")
        return value

    @property
    def az_count(self) -> int:
        """AZs the VPC spans: the named zones, else ``max_azs`` (at most 2 for account-agnostic stacks)."""
        return len(self.availability_zones) or self.max_azs

    @field_validator("interface_endpoints")
    @classmethod
    def _endpoints(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [name for name in value if name not in INTERFACE_ENDPOINT_SERVICES]
        if unknown:
            raise ValueError(
                f"{unknown[0]!r} is not a supported interface endpoint; expected any of "
                + ", ".join(INTERFACE_ENDPOINT_SERVICES)
            )
        if len(set(value)) != len(value):
            raise ValueError("lists an interface endpoint more than once")
        return value

    @field_validator("flow_log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _check_retention(value)


def _check_retention(value: int) -> int:
    if value not in LOG_RETENTION_DAYS:
        raise ValueError(
            f"{value!r} is not a CloudWatch Logs retention; expected one of " + ", ".join(map(str, LOG_RETENTION_DAYS))
        )
    return value


class Transition(_Model):
    storage_class: StorageClass
    after_days: PositiveInt


class DataLakeConfig(_Model):
    raw_transitions: tuple[Transition, ...] = ()
    noncurrent_version_expiration_days: PositiveInt = 30
    access_log_expiration_days: PositiveInt = 365

    @field_validator("raw_transitions")
    @classmethod
    def _transitions(cls, value: tuple[Transition, ...]) -> tuple[Transition, ...]:
        days = [transition.after_days for transition in value]
        if days != sorted(set(days)):
            raise ValueError(f"after_days must strictly increase; got {days}")
        for transition in value:
            if transition.storage_class == "STANDARD_IA" and transition.after_days < 30:
                raise ValueError(
                    f"STANDARD_IA after {transition.after_days} days is refused by S3; "
                    "expected after_days of at least 30"
                )
        return value


class ObservabilityConfig(_Model):
    alarm_email: str | None = None
    log_retention_days: Annotated[int, Field(strict=True)] = 90

    @field_validator("log_retention_days")
    @classmethod
    def _retention(cls, value: int) -> int:
        return _check_retention(value)

    @field_validator("alarm_email")
    @classmethod
    def _email(cls, value: str | None) -> str | None:
        if value is not None and not _EMAIL.fullmatch(value):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value


def accelerators_per_instance(instance_type: str) -> int:
    """GPUs, or Trainium chips, of a training instance type."""
    family, size = instance_type.split(".")[1:3]
    if family.startswith("trn"):
        return 1 if size == "2xlarge" else 16
    if family in ("p4d", "p4de", "p5", "p5e", "p5en"):
        return 8
    return {"12xlarge": 4, "24xlarge": 4, "48xlarge": 8}.get(size, 1)


@functools.cache
def sagemaker_instance_types(shape: str) -> tuple[str, ...]:
    """The instance types SageMaker's API accepts for a shape (``TrainingInstanceType`` ...), from botocore."""
    import botocore.session

    return tuple(botocore.session.get_session().get_service_model("sagemaker").shape_for(shape).enum)


def _check_processing_instance_type(value: str) -> str:
    if value not in sagemaker_instance_types("ProcessingInstanceType"):
        raise ValueError(f"{value!r} is not a SageMaker processing instance type")
    return value


class QualityGateConfig(_Model):
    """The evaluation metric a model must reach to be registered: perplexity at most, the others at least."""

    metric: Literal["perplexity", "rouge_l", "bleu"] = "perplexity"
    threshold: Annotated[float, Field(gt=0)] = 20.0

    @property
    def higher_is_better(self) -> bool:
        return self.metric != "perplexity"

    @field_validator("threshold")
    @classmethod
    def _range(cls, value: float, info: ValidationInfo) -> float:
        if info.data.get("metric") in ("rouge_l", "bleu") and value > 1:
            raise ValueError(f"{value} is out of range: {info.data['metric']} lies between 0 and 1")
        return value


class HyperparametersConfig(_Model):
    """Defaults of the pipeline's hyperparameter parameters; each run may override them."""

    epochs: PositiveInt = 1
    learning_rate: Annotated[float, Field(gt=0, lt=1)] = 2e-4
    per_device_batch_size: PositiveInt = 4
    max_seq_length: PositiveInt = 1024
    lora_rank: PositiveInt = 16


class TrainingConfig(_Model):
    accelerator: Literal["gpu", "trainium"] = "gpu"
    instance_type: str = "ml.g5.2xlarge"
    instance_count: PositiveInt = 1
    method: Literal["full", "lora", "qlora", "prompt-tuning", "prefix-tuning", "llama-adapter"] = "lora"
    distributed: Annotated[bool, Field(validate_default=True)] = False
    neuron_image_uri: Annotated[str | None, Field(validate_default=True)] = None
    preprocessing_instance_type: str = "ml.m5.large"
    evaluation_instance_type: str = "ml.g5.2xlarge"
    base_model_prefix: str = "base-models/default/"
    hyperparameters: HyperparametersConfig = HyperparametersConfig()
    quality_gate: QualityGateConfig = QualityGateConfig()
    spot: bool = False
    max_runtime_hours: Annotated[int, Field(ge=1, le=672)] = 24

    @field_validator("instance_type")
    @classmethod
    def _family(cls, value: str, info: ValidationInfo) -> str:
        if _instance_family(value) in INFERENTIA2_FAMILIES:
            raise ValueError(f"{value!r} is an Inferentia2 instance: it serves models but cannot train them")
        if info.data.get("accelerator") == "trainium":
            _check_instance_type(value, TRAINIUM_FAMILIES, "a Trainium training")
        else:
            _check_instance_type(value, GPU_TRAINING_FAMILIES, "a GPU training")
        if value not in sagemaker_instance_types("TrainingInstanceType"):
            raise ValueError(f"{value!r} is not an instance type SageMaker training offers")
        return value

    @field_validator("method")
    @classmethod
    def _method(cls, value: str, info: ValidationInfo) -> str:
        if value == "qlora" and info.data.get("accelerator") == "trainium":
            raise ValueError("'qlora' needs bitsandbytes 4-bit kernels, which Trainium does not run; use 'lora'")
        return value

    @field_validator("distributed")
    @classmethod
    def _devices(cls, value: bool, info: ValidationInfo) -> bool:
        instance_type, count = info.data.get("instance_type"), info.data.get("instance_count")
        if not value and count and count > 1:
            raise ValueError(
                f"instance_count {count} without a distributed run would train {count} unrelated copies; "
                "set distributed to true, or instance_count to 1"
            )
        if value and instance_type and count and accelerators_per_instance(instance_type) * count < 2:
            raise ValueError(
                f"a distributed run needs at least two devices; {count} x {instance_type} has "
                f"{accelerators_per_instance(instance_type) * count}"
            )
        return value

    @field_validator("neuron_image_uri")
    @classmethod
    def _neuron_image(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None and info.data.get("accelerator") == "trainium":
            raise ValueError(
                "Trainium training needs the Neuron training container (the SageMaker SDK's data for it "
                "is stale): set it, e.g. 763104351884.dkr.ecr.<region>.amazonaws.com/pytorch-training-neuronx:<tag>"
            )
        if value is not None and not re.fullmatch(
            r"\d{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[\w./-]+:[\w.-]+", value
        ):
            raise ValueError(
                f"{value!r} is not an ECR image URI (<account>.dkr.ecr.<region>.amazonaws.com/<name>:<tag>)"
            )
        return value

    @field_validator("preprocessing_instance_type", "evaluation_instance_type")
    @classmethod
    def _processing(cls, value: str) -> str:
        return _check_processing_instance_type(value)

    @field_validator("base_model_prefix")
    @classmethod
    def _prefix(cls, value: str) -> str:
        if not re.fullmatch(r"([\w.-]+/)+", value):
            raise ValueError(f"{value!r} is not an S3 key prefix such as 'base-models/llama-3-8b/'")
        return value


class HostingConfig(_Model):
    accelerator: Literal["gpu", "inferentia2"] = "gpu"
    instance_type: str = "ml.g5.xlarge"
    min_instances: Annotated[int, Field(strict=True, ge=0)] = 0
    max_instances: PositiveInt = 1

    @field_validator("instance_type")
    @classmethod
    def _family(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("accelerator") == "inferentia2":
            return _check_instance_type(value, INFERENTIA2_FAMILIES, "an Inferentia2")
        return _check_instance_type(value, GPU_HOSTING_FAMILIES, "a GPU hosting")

    @field_validator("max_instances")
    @classmethod
    def _above_min(cls, value: int, info: ValidationInfo) -> int:
        minimum = info.data.get("min_instances")
        if minimum is not None and value < minimum:
            raise ValueError(f"{value} is below min_instances ({minimum})")
        return value


class LabelingConfig(_Model):
    enabled: bool = False
    task: Literal["text-classification", "named-entity-recognition"] = "text-classification"
    labels: tuple[str, ...] = ()
    workers_per_object: Annotated[int, Field(strict=True, ge=1, le=9)] = 3

    @field_validator("labels")
    @classmethod
    def _labels(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value) or not all(0 < len(label) <= 64 for label in value):
            raise ValueError("labels must be distinct strings of 1 to 64 characters")
        return value

    @model_validator(mode="after")
    def _needs_labels(self) -> LabelingConfig:
        if self.enabled and len(self.labels) < 2:
            raise ValueError("labeling is enabled: list at least two labels under labels")
        return self


class DataPrepConfig(_Model):
    textract_mode: Literal["text", "analysis"] = "text"
    pii_redaction: Literal["mask", "drop"] = "mask"
    pii_min_score: Annotated[float, Field(ge=0, le=1)] = 0.5
    classifier_endpoint_arn: str | None = None
    labeling: LabelingConfig = LabelingConfig()

    @field_validator("classifier_endpoint_arn")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        pattern = r"arn:aws[a-z-]*:comprehend:[a-z0-9-]+:\d{12}:document-classifier-endpoint/[A-Za-z0-9-]+"
        if value is not None and not re.fullmatch(pattern, value):
            raise ValueError(f"{value!r} is not a Comprehend document classifier endpoint ARN")
        return value


class PromptCatalogConfig(_Model):
    alias: str | None = None  # the alias prompts-as-code moves; defaults to the environment's name
    throttle_rate_limit: PositiveInt = 25
    throttle_burst_limit: PositiveInt = 50

    @field_validator("alias")
    @classmethod
    def _alias(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z][a-z0-9-]{0,31}", value):
            raise ValueError(
                f"{value!r} is not an alias; use lowercase letters, digits and '-', starting with a letter"
            )
        return value


class VectorStoreConfig(_Model):
    engine: VectorStoreEngine = "aurora-pgvector"


class EnvironmentConfig(_Model):
    """Everything that differs between two deployments of the platform."""

    name: str
    account: str | None = None
    region: str
    removal_policy: Literal["retain", "destroy"]
    network: NetworkConfig = NetworkConfig()
    data_lake: DataLakeConfig = DataLakeConfig()
    observability: ObservabilityConfig = ObservabilityConfig()
    training: TrainingConfig = TrainingConfig()
    hosting: HostingConfig = HostingConfig()
    vector_store: VectorStoreConfig = VectorStoreConfig()
    prompt_catalog: PromptCatalogConfig = PromptCatalogConfig()
    data_prep: DataPrepConfig = DataPrepConfig()
    tags: dict[str, str] = {}

    @field_validator("account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d{12}", value):
            raise ValueError(f"{value!r} is not a 12-digit AWS account id")
        return value

    @field_validator("region")
    @classmethod
    def _region(cls, value: str) -> str:
        if value not in AWS_REGIONS:
            raise ValueError(f"{value!r} is not an AWS region; expected one of {', '.join(AWS_REGIONS)}")
        return value

    @property
    def retains_data(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def prompt_alias(self) -> str:
        """The alias this environment's prompts-as-code sync moves."""
        return self.prompt_catalog.alias or self.name


class PlatformConfig(_Model):
    project: str = "LlmOps"
    environments: dict[str, EnvironmentConfig]

    def environment(self, name: str) -> EnvironmentConfig:
        try:
            return self.environments[name]
        except KeyError:
            raise ConfigError(
                f"environment {name!r} is not configured; expected one of {', '.join(self.environments)}"
            ) from None


def _check_environment_rules(name: str, env: EnvironmentConfig) -> list[str]:
    problems = []
    foreign = [zone for zone in env.network.availability_zones if not zone.startswith(env.region)]
    if foreign:
        problems.append(
            f"environments.{name}.network.availability_zones: {foreign[0]!r} is not in region {env.region!r}"
        )
    if not _NAME.fullmatch(name):
        problems.append(f"environments.{name}: the name must match {_NAME.pattern}")
    if name == "prod":
        if env.removal_policy != "retain":
            problems.append(
                f"environments.prod.removal_policy: {env.removal_policy!r} would delete production "
                "data; expected 'retain'"
            )
        if env.network.az_count < 2:
            problems.append(
                f"environments.prod.network: {env.network.az_count} availability zone is a single point of "
                "failure; expected at least 2 (max_azs or availability_zones)"
            )
    return problems


def _describe(error: Mapping[str, Any]) -> str:
    path = ".".join(str(part) for part in error["loc"] if not str(part).startswith("function-"))
    kind, value = error["type"], error.get("input")
    if kind == "extra_forbidden":
        return f"{path}: unknown key"
    if kind == "missing":
        return f"{path}: required key is missing"
    message = error["msg"].removeprefix("Value error, ")
    if kind.endswith("_type") or kind in {
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than_equal",
        "less_than",
    }:
        return f"{path}: {value!r} is invalid; {message[0].lower()}{message[1:]}"
    return f"{path}: {message}"


def _model_at(loc: tuple[Any, ...]) -> type[BaseModel]:
    """The model whose field set an error location points into."""
    model: type[BaseModel] = PlatformConfig
    annotation: Any = None
    for part in loc[:-1]:
        if isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
        while annotation is not None and not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            args = [a for a in get_args(annotation) if a is not type(None) and a is not Ellipsis]
            annotation = args[-1] if args else None
        if annotation is not None:
            model, annotation = annotation, None
    return model


def load_platform_config(raw: Any) -> PlatformConfig:
    """Validate the ``llmops`` context value; raise ``ConfigError`` naming every problem."""
    if not isinstance(raw, Mapping):
        raise ConfigError(f"cdk.json context key {CONTEXT_KEY!r} must be an object, got {raw!r}")
    data = dict(raw)
    environments = data.get("environments")
    if isinstance(environments, Mapping):
        data["environments"] = {
            name: {**env, "name": name} if isinstance(env, Mapping) else env for name, env in environments.items()
        }
    try:
        config = PlatformConfig.model_validate(data)
    except ValidationError as error:
        lines = []
        for detail in error.errors():
            line = _describe(detail)
            if detail["type"] == "extra_forbidden":
                allowed = [key for key in _model_at(detail["loc"]).model_fields if key != "name"]
                line += f"; allowed keys: {', '.join(allowed)}"
            lines.append(line)
        raise ConfigError(_report(lines)) from None
    problems = [p for name, env in config.environments.items() for p in _check_environment_rules(name, env)]
    if not config.environments:
        problems.append("environments: at least one environment is required")
    if problems:
        raise ConfigError(_report(problems))
    return config


def _report(lines: list[str]) -> str:
    return "invalid configuration in cdk.json:\n  " + "\n  ".join(lines)
