"""Fine-tuning: the SageMaker pipeline, the model registry it writes to, and the approval event.

A run reads the curated ``fine-tuning/`` records (the data-preparation workflow's output) and
a base model from ``base-models/`` of the artifacts bucket, and leaves everything it makes
under ``fine-tuning/<execution id>/`` there. A model that passes the quality gate is
registered as ``PendingManualApproval``; approving it emits the event hosting will deploy on.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Names, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from llmops_constructs.alarm_topic import AlarmTopic
from llmops_constructs.dead_letter_queue import dead_letter_queue
from llmops_constructs.fine_tuning_pipeline import FineTuningPipeline
from llmops_constructs.isolated_network import IsolatedNetwork
from llmops_constructs.removal import removal_policy
from stacks.config import EnvironmentConfig
from stacks.data_lake_stack import DataLakeStack


class FineTuningStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        network: IsolatedNetwork,
        data_lake: DataLakeStack,
        platform_key: kms.IKey,
        alarm_topic: AlarmTopic,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        group_name = Names.unique_resource_name(self, max_length=63, separator="-").lower() + "-models"
        self.model_package_group = sagemaker.CfnModelPackageGroup(
            self,
            "ModelPackageGroup",
            model_package_group_name=group_name,
            model_package_group_description="Fine-tuned models of this environment, gated by evaluation",
        )
        self.model_package_group.apply_removal_policy(removal_policy(config.retains_data))

        training = config.training
        curated, artifacts = data_lake.curated, data_lake.artifacts
        base_models = training.base_model_prefix.split("/")[0]
        job_data = data_lake.object_access_policy(
            "FineTuningJobAccess",
            description="Fine-tuning jobs: read curated records and base models; write run outputs",
            grants=[
                (curated, "fine-tuning/*", ["s3:GetObject"]),
                (artifacts, f"{base_models}/*", ["s3:GetObject"]),
                (artifacts, "fine-tuning/*", ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]),
            ],
        )
        job_data.add_statements(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[curated.bucket_arn, artifacts.bucket_arn],
                conditions={"StringLike": {"s3:prefix": ["fine-tuning/*", f"{base_models}/*"]}},
            )
        )
        self.pipeline = FineTuningPipeline(
            self,
            "Pipeline",
            config=config,
            vpc=network.vpc,
            subnets=network.subnets,
            data_key=data_lake.key,
            artifacts_bucket=artifacts,
            curated_bucket=curated,
            job_data_policy=job_data,
            pipeline_data_policy=data_lake.object_access_policy(
                "FineTuningPipelineAccess",
                description="Fine-tuning pipeline: read the evaluation reports its quality gate checks",
                grants=[(artifacts, "fine-tuning/*", ["s3:GetObject"])],
            ),
            model_package_group_name=group_name,
        )
        self.pipeline.node.add_dependency(self.model_package_group)

        self.approvals = sns.Topic(
            self,
            "ModelApprovals",
            display_name="LLMOps platform: a fine-tuned model was approved",
            master_key=platform_key,
            enforce_ssl=True,
        )
        self.undelivered_approvals = dead_letter_queue(
            self, "UndeliveredApprovals", encryption_key=platform_key, owner="the model approval rule", for_lambda=False
        )
        self.model_approved = events.Rule(
            self,
            "ModelApproved",
            description="A model package of this environment's group was approved for deployment",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Package State Change"],
                detail={"ModelPackageGroupName": [group_name], "ModelApprovalStatus": ["Approved"]},
            ),
            targets=[
                targets.SnsTopic(
                    self.approvals,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                    dead_letter_queue=self.undelivered_approvals,
                )
            ],
        )
        self._alarms(alarm_topic)

    def _alarms(self, alarm_topic: AlarmTopic) -> None:
        dimensions = {"PipelineName": self.pipeline.pipeline_name}
        for construct_id, metric, what in (
            (
                "FailedExecutionsAlarm",
                cloudwatch.Metric(
                    namespace="AWS/Sagemaker/ModelBuildingPipeline",
                    metric_name="ExecutionFailed",
                    dimensions_map=dimensions,
                    statistic="Sum",
                    period=Duration.minutes(5),
                ),
                "a fine-tuning run failed, or its model missed the quality gate",
            ),
            (
                "UndeliveredApprovalsAlarm",
                self.undelivered_approvals.metric_approximate_number_of_messages_visible(period=Duration.minutes(5)),
                "model approvals could not be delivered to their topic",
            ),
        ):
            alarm_topic.alarm_on_any(self, construct_id, metric, what)
