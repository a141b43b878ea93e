"""The fine-tuning pipeline's definition, built at synth with the SageMaker Python SDK (v3).

Preprocess (validate, drop, deduplicate, split) -> Train (any method, one device or DDP) ->
Evaluate (perplexity, ROUGE-L, BLEU) -> CheckQuality -> Register (PendingManualApproval, the
evaluation report attached) or QualityGateFailed (a Fail step that gives the metric and the
threshold).

CDK tokens cannot pass through the SDK, so the resources the jobs use arrive as placeholders
(``${JobRoleArn}``, ...) that the construct substitutes into the finished JSON with
``Fn::Sub``; see ``llmops_constructs.fine_tuning_pipeline``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pipelines.sagemaker_sdk import image_uri, pipeline_session
from stacks.config import EnvironmentConfig

CODE_DIR = "/opt/ml/code"
PROCESSING_CODE_DIR = "/opt/ml/processing/input/code"
HUGGING_FACE_TRAINING = {"version": "5.3.0", "base_framework_version": "pytorch2.9.0", "py_version": "py312"}
SCIKIT_LEARN_VERSION = "1.4-2"
TGI_VERSIONS = {"gpu": ("huggingface-llm", "3.3.6"), "inferentia2": ("huggingface-llm-neuronx", "0.3.0")}
METRIC_DEFINITIONS = (
    ("train_loss", r"train_loss=([0-9.eE+-]+);"),
    ("validation_loss", r"validation_loss=([0-9.eE+-]+);"),
    ("validation_perplexity", r"validation_perplexity=([0-9.eE+-]+);"),
    ("tokens_per_second", r"tokens_per_second=([0-9.eE+-]+);"),
)
STEP_NAMES = ("Preprocess", "Train", "Evaluate", "CheckQuality", "Register", "QualityGateFailed")


@dataclass(frozen=True)
class JobResources:
    """What the jobs run as and where; strings, or ``${Name}`` placeholders for ``Fn::Sub``."""

    role_arn: str
    artifacts_bucket: str
    curated_bucket: str
    kms_key_arn: str
    subnet_ids: tuple[str, ...]
    security_group_ids: tuple[str, ...]
    code_uri: str  # the code bundle (a .tar.gz of pipelines/scripts) in S3
    model_package_group: str

    @property
    def code_file(self) -> str:
        return self.code_uri.rsplit("/", 1)[-1]


def training_image(config: EnvironmentConfig) -> str:
    training = config.training
    if training.accelerator == "trainium":
        assert training.neuron_image_uri is not None  # the config refuses Trainium without it
        return training.neuron_image_uri
    return image_uri(
        "huggingface",
        config.region,
        instance_type=training.instance_type,
        image_scope="training",
        **HUGGING_FACE_TRAINING,
    )


def evaluation_image(config: EnvironmentConfig) -> str:
    return image_uri(
        "huggingface",
        config.region,
        instance_type=config.training.evaluation_instance_type,
        image_scope="training",
        **HUGGING_FACE_TRAINING,
    )


def preprocessing_image(config: EnvironmentConfig) -> str:
    return image_uri(
        "sklearn",
        config.region,
        version=SCIKIT_LEARN_VERSION,
        instance_type=config.training.preprocessing_instance_type,
        image_scope="training",
    )


def serving_image(config: EnvironmentConfig) -> str:
    framework, version = TGI_VERSIONS[config.hosting.accelerator]
    return image_uri(framework, config.region, version=version, instance_type=config.hosting.instance_type)


def job_images(config: EnvironmentConfig) -> tuple[str, ...]:
    """Every image the pipeline's jobs run."""
    return (preprocessing_image(config), training_image(config), evaluation_image(config))


def flags(options: dict[str, Any]) -> list[Any]:
    """``{"--name": value}`` as the argument list a job's container receives."""
    return [item for option, value in options.items() for item in (option, value)]


def script_entrypoint(code_file: str, module: str) -> list[str]:
    """Unpack the code bundle and run one of its modules; the job's arguments follow."""
    script = (
        f"mkdir -p {CODE_DIR} && tar -xzf {PROCESSING_CODE_DIR}/{code_file} -C {CODE_DIR} && "
        f'PYTHONPATH={CODE_DIR} exec python3 -m {module} "$@"'
    )
    return ["/bin/sh", "-c", script, module]


def split_file(data: Any, split: str) -> Any:
    """One split the preprocessing job wrote (``train.jsonl``, ...), as an S3 key prefix."""
    from sagemaker.core.workflow.functions import Join

    return Join(on="/", values=[data, f"{split}.jsonl"])


@dataclass(frozen=True)
class _PackagedModel:
    sagemaker_session: Any


class _Builder:
    """Holds the SDK objects while the steps are built; ``definition()`` is the only way out."""

    def __init__(self, config: EnvironmentConfig, resources: JobResources, pipeline_name: str) -> None:
        from sagemaker.core.network import NetworkConfig
        from sagemaker.core.workflow.execution_variables import ExecutionVariables
        from sagemaker.core.workflow.functions import Join
        from sagemaker.core.workflow.parameters import ParameterFloat, ParameterInteger, ParameterString

        self.config, self.training, self.resources = config, config.training, resources
        self.pipeline_name = pipeline_name
        self.session = pipeline_session(config.region, resources.artifacts_bucket)
        hyper = self.training.hyperparameters
        self.parameters = {
            "InputDataUri": ParameterString("InputDataUri", f"s3://{resources.curated_bucket}/fine-tuning/"),
            "BaseModelUri": ParameterString(
                "BaseModelUri", f"s3://{resources.artifacts_bucket}/{self.training.base_model_prefix}"
            ),
            "Method": ParameterString("Method", self.training.method, enum_values=list(self._methods())),
            "Epochs": ParameterInteger("Epochs", hyper.epochs),
            "LearningRate": ParameterFloat("LearningRate", hyper.learning_rate),
            "PerDeviceBatchSize": ParameterInteger("PerDeviceBatchSize", hyper.per_device_batch_size),
            "MaxSeqLength": ParameterInteger("MaxSeqLength", hyper.max_seq_length),
            "LoraRank": ParameterInteger("LoraRank", hyper.lora_rank),
            "TrainingInstanceType": ParameterString("TrainingInstanceType", self.training.instance_type),
            "QualityThreshold": ParameterFloat("QualityThreshold", self.training.quality_gate.threshold),
        }
        self.run_prefix = Join(
            on="/", values=[f"s3://{resources.artifacts_bucket}/fine-tuning", ExecutionVariables.PIPELINE_EXECUTION_ID]
        )
        self.network = NetworkConfig(
            enable_network_isolation=True,
            security_group_ids=list(resources.security_group_ids),
            subnets=list(resources.subnet_ids),
            encrypt_inter_container_traffic=True,
        )

    def _methods(self) -> tuple[str, ...]:
        from pipelines.scripts.finetune_methods import METHODS

        if self.training.accelerator == "trainium":
            return tuple(method for method in METHODS if method != "qlora")
        return METHODS

    def _run_path(self, *parts: str) -> Any:
        from sagemaker.core.workflow.functions import Join

        return Join(on="/", values=[self.run_prefix, *parts])

    def _processor(self, name: str, image: str, instance_type: str, module: str) -> Any:
        from sagemaker.core.processing import Processor

        return Processor(
            role=self.resources.role_arn,
            image_uri=image,
            instance_count=1,
            instance_type=instance_type,
            entrypoint=script_entrypoint(self.resources.code_file, module),
            volume_size_in_gb=100,
            volume_kms_key=self.resources.kms_key_arn,
            output_kms_key=self.resources.kms_key_arn,
            max_runtime_in_seconds=self.training.max_runtime_hours * 3600,
            base_job_name=name,
            sagemaker_session=self.session,
            network_config=self.network,
        )

    @staticmethod
    def _input(name: str, source: Any, destination: str) -> Any:
        from sagemaker.core.shapes import ProcessingInput, ProcessingS3Input

        return ProcessingInput(
            input_name=name,
            s3_input=ProcessingS3Input(
                s3_uri=source, local_path=destination, s3_data_type="S3Prefix", s3_input_mode="File"
            ),
        )

    @staticmethod
    def _output(name: str, source: str, destination: Any) -> Any:
        from sagemaker.core.shapes import ProcessingOutput, ProcessingS3Output

        return ProcessingOutput(
            output_name=name,
            s3_output=ProcessingS3Output(s3_uri=destination, local_path=source, s3_upload_mode="EndOfJob"),
        )

    def preprocess(self) -> Any:
        from sagemaker.mlops.workflow.steps import ProcessingStep

        processor = self._processor(
            "llmops-preprocess",
            preprocessing_image(self.config),
            self.training.preprocessing_instance_type,
            "pipelines.scripts.preprocess",
        )
        step_args = processor.run(
            inputs=[
                self._input("code", self.resources.code_uri, PROCESSING_CODE_DIR),
                self._input("data", self.parameters["InputDataUri"], "/opt/ml/processing/input/data"),
            ],
            outputs=[self._output("data", "/opt/ml/processing/output", self._run_path("data"))],
            arguments=flags(
                {
                    "--input": "/opt/ml/processing/input/data",
                    "--output": "/opt/ml/processing/output",
                    "--max-chars": "16000",
                }
            ),
        )
        return ProcessingStep(name="Preprocess", step_args=step_args)

    def train(self, preprocess: Any) -> Any:
        from sagemaker.core.shapes import CheckpointConfig, MetricDefinition, OutputDataConfig
        from sagemaker.mlops.workflow.steps import TrainingStep
        from sagemaker.train import ModelTrainer
        from sagemaker.train.configs import Compute, InputData, Networking, StoppingCondition

        distributed = self.training.distributed
        max_runtime = self.training.max_runtime_hours * 3600
        data = preprocess.properties.ProcessingOutputConfig.Outputs["data"].S3Output.S3Uri
        trainer = ModelTrainer(
            sagemaker_session=self.session,
            role=self.resources.role_arn,
            base_job_name="llmops-finetune",
            training_image=training_image(self.config),
            compute=Compute(
                instance_type=self.parameters["TrainingInstanceType"],
                instance_count=self.training.instance_count,
                volume_size_in_gb=200,
                volume_kms_key_id=self.resources.kms_key_arn,
                enable_managed_spot_training=self.training.spot,
            ),
            networking=Networking(
                subnets=list(self.resources.subnet_ids),
                security_group_ids=list(self.resources.security_group_ids),
                enable_network_isolation=True,
                enable_inter_container_traffic_encryption=distributed,
            ),
            stopping_condition=StoppingCondition(
                max_runtime_in_seconds=max_runtime,
                max_wait_time_in_seconds=2 * max_runtime if self.training.spot else None,
            ),
            output_data_config=OutputDataConfig(
                s3_output_path=self._run_path("model"), kms_key_id=self.resources.kms_key_arn
            ),
            checkpoint_config=CheckpointConfig(s3_uri=self._run_path("checkpoints"), local_path="/opt/ml/checkpoints"),
            environment={"PYTHONPATH": CODE_DIR},
            hyperparameters={
                # the training toolkit's contract: it unpacks the bundle and starts the script (under
                # torchrun when torch_distributed is on)
                "sagemaker_program": "pipelines/scripts/train.py",
                "sagemaker_submit_directory": f"/opt/ml/input/data/code/{self.resources.code_file}",
                "sagemaker_torch_distributed_enabled": json.dumps(distributed),
                "method": self.parameters["Method"],
                "accelerator": self.training.accelerator,
                "epochs": self.parameters["Epochs"],
                "learning_rate": self.parameters["LearningRate"],
                "per_device_batch_size": self.parameters["PerDeviceBatchSize"],
                "max_seq_length": self.parameters["MaxSeqLength"],
                "lora_rank": self.parameters["LoraRank"],
                "merge_weights": "true",
            },
        ).with_metric_definitions([MetricDefinition(name=name, regex=regex) for name, regex in METRIC_DEFINITIONS])
        step_args = trainer.train(
            input_data_config=[
                InputData(channel_name="code", data_source=self.resources.code_uri),
                InputData(channel_name="model", data_source=self.parameters["BaseModelUri"]),
                InputData(channel_name="train", data_source=split_file(data, "train")),
                InputData(channel_name="validation", data_source=split_file(data, "validation")),
            ]
        )
        return TrainingStep(name="Train", step_args=step_args)

    def evaluate(self, preprocess: Any, train: Any) -> tuple[Any, Any]:
        from sagemaker.core.workflow.properties import PropertyFile
        from sagemaker.mlops.workflow.steps import ProcessingStep

        report = PropertyFile(name="EvaluationReport", output_name="evaluation", path="evaluation.json")
        processor = self._processor(
            "llmops-evaluate",
            evaluation_image(self.config),
            self.training.evaluation_instance_type,
            "pipelines.scripts.evaluate",
        )
        data = preprocess.properties.ProcessingOutputConfig.Outputs["data"].S3Output.S3Uri
        step_args = processor.run(
            inputs=[
                self._input("code", self.resources.code_uri, PROCESSING_CODE_DIR),
                self._input("model", train.properties.ModelArtifacts.S3ModelArtifacts, "/opt/ml/processing/model"),
                self._input("base", self.parameters["BaseModelUri"], "/opt/ml/processing/base"),
                self._input("test", split_file(data, "test"), "/opt/ml/processing/test"),
            ],
            outputs=[self._output("evaluation", "/opt/ml/processing/evaluation", self._run_path("evaluation"))],
            arguments=flags(
                {
                    "--model": "/opt/ml/processing/model",
                    "--base_model": "/opt/ml/processing/base",
                    "--test": "/opt/ml/processing/test",
                    "--output": "/opt/ml/processing/evaluation",
                    "--max_seq_length": self.parameters["MaxSeqLength"].to_string(),
                }
            ),
        )
        return ProcessingStep(name="Evaluate", step_args=step_args, property_files=[report]), report

    def register(self, train: Any, evaluate: Any) -> Any:
        from sagemaker.core.model_registry import create_model_package_from_containers
        from sagemaker.core.workflow.functions import Join
        from sagemaker.mlops.workflow.model_step import ModelStep

        evaluation = evaluate.properties.ProcessingOutputConfig.Outputs["evaluation"].S3Output.S3Uri
        report_uri = Join(on="/", values=[evaluation, "evaluation.json"])
        # ModelStep wants the arguments a model's register() leaves on the session; a model package
        # from containers needs no model object, only the session it was built in.
        self.session.init_model_step_arguments(_PackagedModel(self.session))
        step_args = create_model_package_from_containers(
            self.session,
            containers=[
                {
                    "Image": serving_image(self.config),
                    "ModelDataUrl": train.properties.ModelArtifacts.S3ModelArtifacts,
                    "Environment": {"HF_MODEL_ID": "/opt/ml/model"},
                }
            ],
            content_types=["application/json"],
            response_types=["application/json"],
            inference_instances=[self.config.hosting.instance_type],
            model_package_group_name=self.resources.model_package_group,
            model_metrics={"ModelQuality": {"Statistics": {"ContentType": "application/json", "S3Uri": report_uri}}},
            approval_status="PendingManualApproval",
            description=Join(on=" ", values=["Fine-tuned with", self.parameters["Method"]]),
        )
        return ModelStep(name="Register", step_args=step_args)

    def check_quality(self, evaluate: Any, report: Any, register: Any) -> Any:
        from sagemaker.core.workflow.conditions import ConditionGreaterThanOrEqualTo, ConditionLessThanOrEqualTo
        from sagemaker.core.workflow.functions import Join, JsonGet
        from sagemaker.mlops.workflow.condition_step import ConditionStep
        from sagemaker.mlops.workflow.fail_step import FailStep

        gate = self.training.quality_gate
        value = JsonGet(step_name=evaluate.name, property_file=report, json_path=f"metrics.{gate.metric}.value")
        threshold = self.parameters["QualityThreshold"]
        comparison = ConditionGreaterThanOrEqualTo if gate.higher_is_better else ConditionLessThanOrEqualTo
        bound = "at least" if gate.higher_is_better else "at most"
        failed = FailStep(
            name="QualityGateFailed",
            error_message=Join(
                on=" ", values=[f"{gate.metric} is", value, f"on the test split; it must be {bound}", threshold]
            ),
        )
        return ConditionStep(
            name="CheckQuality",
            conditions=[comparison(left=value, right=threshold)],
            if_steps=[register],
            else_steps=[failed],
        )

    def definition(self) -> str:
        from sagemaker.mlops.workflow.pipeline import Pipeline

        preprocess = self.preprocess()
        train = self.train(preprocess)
        evaluate, report = self.evaluate(preprocess, train)
        register = self.register(train, evaluate)
        check = self.check_quality(evaluate, report, register)
        pipeline = Pipeline(
            name=self.pipeline_name,
            parameters=list(self.parameters.values()),
            steps=[preprocess, train, evaluate, check],
            sagemaker_session=self.session,
        )
        body: str = pipeline.definition()
        return body


def pipeline_definition(config: EnvironmentConfig, resources: JobResources, pipeline_name: str) -> str:
    """The pipeline definition JSON (``PipelineDefinitionBody``)."""
    return _Builder(config, resources, pipeline_name).definition()
