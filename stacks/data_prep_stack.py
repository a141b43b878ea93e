"""Data preparation: documents landing in the raw zone become curated JSONL, or are quarantined.

EventBridge starts the workflow for every object created under ``incoming/`` of the raw
bucket. Steps: classify → Textract (PDFs and images; asynchronous, resumed by its SNS
notification) or plain-text extraction → Comprehend (language, entities, PII redaction) →
transform (normalise, deduplicate, write fine-tuning and retrieval JSONL) → optional Ground
Truth labeling. Every task retries transient errors with backoff and catches everything else
into the quarantine step. Step functions: prefixes and payloads in ``data_prep/steps.py``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge, wildcard_resource_finding
from llmops_constructs.annotator_workforce import AnnotatorWorkforce
from llmops_constructs.dead_letter_queue import dead_letter_queue
from llmops_constructs.managed_policy_role import ManagedPolicyRole
from llmops_constructs.removal import removal_policy
from llmops_constructs.secure_function import LAMBDA_ROOT, FunctionPlatform, SecureFunction
from llmops_constructs.secure_table import secure_table
from stacks.config import EnvironmentConfig
from stacks.data_lake_stack import DataLakeStack

DATA_PREP_PACKAGE = Path(__file__).resolve().parent.parent / "data_prep"
TRANSIENT_ERRORS = ["ClientError", "ThrottlingException", "TooManyRequestsException", "Lambda.TooManyRequestsException"]


class DataPrepStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions: FunctionPlatform,
        data_key: kms.IKey,
        data_lake: DataLakeStack,
        **kwargs: Any,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)
        settings = config.data_prep
        retain = config.retains_data
        self._functions = functions
        alarm_topic = functions.alarm_topic
        self._data_lake = data_lake
        raw, curated, artifacts = data_lake.raw, data_lake.curated, data_lake.artifacts
        self.table = secure_table(
            self,
            "ProcessingTable",
            encryption_key=data_key,
            retain=retain,
            time_to_live_attribute="expires_at",
            backup_reason="The table holds only in-flight Textract tokens and content fingerprints, rebuilt by "
            "re-running documents; point-in-time recovery covers it",
        )

        self.textract_topic = sns.Topic(self, "TextractTopic", master_key=data_key, enforce_ssl=True)
        self.textract_role = ManagedPolicyRole(
            self,
            "TextractRole",
            assumed_by=iam.ServicePrincipal("textract.amazonaws.com"),
            description="Lets Amazon Textract publish job completions",
        )
        self.textract_role.add_to_principal_policy(
            iam.PolicyStatement(actions=["sns:Publish"], resources=[self.textract_topic.topic_arn])
        )
        data_key.grant(self.textract_role, "kms:GenerateDataKey", "kms:Decrypt")

        labeling = settings.labeling
        common_env = {
            "TABLE_NAME": self.table.table_name,
            "CURATED_BUCKET": curated.bucket_name,
            "ARTIFACTS_BUCKET": artifacts.bucket_name,
            "LABELING_TASK": labeling.task,
            "LABELS": json.dumps(list(labeling.labels)),
        }
        self.steps = self._function(
            "StepsFunction",
            "data_prep_steps",
            "Data preparation workflow steps",
            Duration.minutes(5),
            {
                **common_env,
                "TEXTRACT_MODE": settings.textract_mode,
                "TEXTRACT_TOPIC_ARN": self.textract_topic.topic_arn,
                "TEXTRACT_ROLE_ARN": self.textract_role.role_arn,
                "PII_REDACTION": settings.pii_redaction,
                "PII_MIN_SCORE": str(settings.pii_min_score),
                "CLASSIFIER_ENDPOINT_ARN": settings.classifier_endpoint_arn or "",
            },
        )
        self.textract_callback = self._function(
            "TextractCallbackFunction",
            "textract_callback",
            "Resumes the workflow when Textract finishes",
            Duration.minutes(5),
            {"TABLE_NAME": self.table.table_name},
        )
        self.undelivered_notifications = dead_letter_queue(
            self,
            "TextractNotificationsDlq",
            encryption_key=data_key,
            owner="the Textract completion subscription",
            for_lambda=False,
        )
        self.textract_topic.add_subscription(
            subscriptions.LambdaSubscription(
                self.textract_callback.function, dead_letter_queue=self.undelivered_notifications
            )
        )

        self.steps.role.add_managed_policy(
            data_lake.object_access_policy(
                "DataPrepStepsAccess",
                description="Data preparation: read incoming documents; write work, quarantine, curated records",
                grants=[
                    (raw, "incoming/*", ["s3:GetObject", "s3:GetObjectVersion"]),
                    (raw, "work/*", ["s3:GetObject", "s3:PutObject"]),
                    (raw, "quarantine/*", ["s3:PutObject"]),
                    (curated, "fine-tuning/*", ["s3:GetObject", "s3:PutObject"]),
                    (curated, "retrieval/*", ["s3:GetObject", "s3:PutObject"]),
                    (artifacts, "labeling/*", ["s3:PutObject"]),
                ],
            )
        )
        self.textract_callback.role.add_managed_policy(
            data_lake.object_access_policy(
                "TextractCallbackAccess",
                description="Textract callback: write extracted text to the raw zone's work prefix",
                grants=[(raw, "work/*", ["s3:PutObject"])],
            )
        )
        for role in (self.steps.role, self.textract_callback.role):
            data_key.grant(role, "kms:Decrypt", "kms:GenerateDataKey")
            self.table.grant(role, "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem")
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    sid="Textract",
                    resources=["*"],
                    actions=[
                        "textract:StartDocumentTextDetection",
                        "textract:StartDocumentAnalysis",
                        "textract:GetDocumentTextDetection",
                        "textract:GetDocumentAnalysis",
                    ],
                )
            )
        self.textract_role.grant_pass_role(self.steps.role)
        self.steps.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="Comprehend",
                resources=["*"],
                actions=[
                    "comprehend:DetectDominantLanguage",
                    "comprehend:DetectEntities",
                    "comprehend:DetectPiiEntities",
                ],
            )
        )
        if settings.classifier_endpoint_arn:
            self.steps.role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["comprehend:ClassifyDocument"], resources=[settings.classifier_endpoint_arn]
                )
            )

        self.state_machine_role = ManagedPolicyRole(
            self,
            "WorkflowRole",
            assumed_by=iam.ServicePrincipal("states.amazonaws.com"),
            description="Runs the data-preparation workflow",
        )
        definition = self._definition(config, artifacts, data_key)
        self.workflow_logs = logs.LogGroup(
            self,
            "WorkflowLogs",
            encryption_key=functions.encryption_key,
            retention=functions.log_retention,
            removal_policy=removal_policy(retain),
        )
        self.state_machine = sfn.StateMachine(
            self,
            "Workflow",
            definition_body=sfn.DefinitionBody.from_chainable(definition),
            role=self.state_machine_role,
            tracing_enabled=True,
            timeout=Duration.hours(24),
            logs=sfn.LogOptions(destination=self.workflow_logs, level=sfn.LogLevel.ALL, include_execution_data=False),
        )
        acknowledge(
            self.state_machine_role,
            wildcard_resource_finding(self, self.steps.function.function_arn, ":*"),
            "Step Functions invokes the steps function's versions; the grant names that one function",
        )
        acknowledge(
            self.state_machine_role,
            "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
            "X-Ray tracing and CloudWatch Logs delivery actions support no resource-level permissions",
        )
        self.textract_callback.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["states:SendTaskSuccess", "states:SendTaskFailure"],
                resources=[self.state_machine.state_machine_arn],
            )
        )

        self.unstarted_documents = dead_letter_queue(
            self, "UnstartedDocumentsDlq", encryption_key=data_key, owner="the document-arrived rule", for_lambda=False
        )
        starter_role = ManagedPolicyRole(self, "StarterRole", assumed_by=iam.ServicePrincipal("events.amazonaws.com"))
        events.Rule(
            self,
            "DocumentArrived",
            description="Starts data preparation for each document created under incoming/ of the raw bucket",
            event_pattern=events.EventPattern(
                source=["aws.s3"],
                detail_type=["Object Created"],
                detail={"bucket": {"name": [raw.bucket_name]}, "object": {"key": [{"prefix": "incoming/"}]}},
            ),
            targets=[
                targets.SfnStateMachine(
                    self.state_machine,
                    role=starter_role,
                    retry_attempts=8,
                    max_event_age=Duration.hours(24),
                    dead_letter_queue=self.unstarted_documents,
                )
            ],
        )
        five_minutes = Duration.minutes(5)
        for construct_id, metric, what in (
            (
                "FailedExecutionsAlarm",
                self.state_machine.metric_failed(period=five_minutes),
                "a document failed or was quarantined; see quarantine/",
            ),
            (
                "TimedOutExecutionsAlarm",
                self.state_machine.metric_timed_out(period=five_minutes),
                "a document's workflow timed out",
            ),
            (
                "UnstartedDocumentsAlarm",
                self.unstarted_documents.metric_approximate_number_of_messages_visible(period=five_minutes),
                "documents arrived but their workflow could not be started",
            ),
            (
                "UndeliveredNotificationsAlarm",
                self.undelivered_notifications.metric_approximate_number_of_messages_visible(period=five_minutes),
                "Textract completions could not be delivered; their documents wait until the task times out",
            ),
        ):
            alarm_topic.alarm_on_any(self, construct_id, metric, what)

    def _function(
        self, construct_id: str, folder: str, description: str, timeout: Duration, environment: dict[str, str]
    ) -> SecureFunction:
        return SecureFunction(
            self,
            construct_id,
            code_dir=LAMBDA_ROOT / folder,
            description=description,
            platform=self._functions,
            memory_size=1024,
            timeout=timeout,
            reserved_concurrency=10,
            environment=environment,
            shared_packages=[DATA_PREP_PACKAGE],
        )

    def _invoke(
        self, construct_id: str, payload: dict[str, Any], result_path: str, **kwargs: Any
    ) -> tasks.LambdaInvoke:
        task = tasks.LambdaInvoke(
            self,
            construct_id,
            lambda_function=self.steps.function,
            payload=sfn.TaskInput.from_object(payload),
            payload_response_only="integration_pattern" not in kwargs,
            result_path=result_path,
            retry_on_service_exceptions=True,
            **kwargs,
        )
        task.add_retry(
            errors=TRANSIENT_ERRORS,
            interval=Duration.seconds(5),
            max_attempts=5,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        return task

    def _definition(self, config: EnvironmentConfig, artifacts: s3.IBucket, data_key: kms.IKey) -> sfn.IChainable:
        source = {
            "bucket.$": "$.detail.bucket.name",
            "key.$": "$.detail.object.key",
            "version_id.$": "$.detail.object.version-id",
        }
        quarantine = self._invoke(
            "Quarantine",
            {
                "step": "quarantine",
                "source": source,
                "error.$": "$.error",
                "failed_step.$": "$.failure.step",
                "execution.$": "$$.Execution.Id",
            },
            "$.quarantine",
        )
        quarantine.add_catch(
            sfn.Fail(self, "QuarantineFailed", cause="The document could not be quarantined"),
            result_path="$.quarantine_error",
        )
        quarantine.next(
            sfn.Fail(
                self,
                "Quarantined",
                error="DocumentQuarantined",
                cause="The document is under quarantine/ with its error record",
            )
        )

        def guarded(task: sfn.TaskStateBase) -> sfn.TaskStateBase:
            failed = sfn.Pass(
                self,
                f"{task.node.id}Failed",
                result=sfn.Result.from_object({"step": task.node.id}),
                result_path="$.failure",
            )
            failed.next(quarantine)
            task.add_catch(failed, result_path="$.error")
            return task

        classify = guarded(self._invoke("Classify", {"step": "classify", **source}, "$.document"))
        textract = guarded(
            self._invoke(
                "Textract",
                {"step": "textract_start", "document.$": "$.document", "task_token": sfn.JsonPath.task_token},
                "$.extracted",
                integration_pattern=sfn.IntegrationPattern.WAIT_FOR_TASK_TOKEN,
                task_timeout=sfn.Timeout.duration(Duration.hours(2)),
            )
        )
        extract = guarded(
            self._invoke("ExtractText", {"step": "extract_text", "document.$": "$.document"}, "$.extracted")
        )
        enrich = guarded(
            self._invoke(
                "Comprehend",
                {"step": "enrich", "document.$": "$.document", "text_key.$": "$.extracted.text_key"},
                "$.enriched",
            )
        )
        transform = guarded(
            self._invoke(
                "Transform",
                {
                    "step": "transform",
                    "document.$": "$.document",
                    "enriched.$": "$.enriched",
                    "execution.$": "$$.Execution.Id",
                    "textract_job_id.$": "$.extracted.textract_job_id",
                },
                "$.curated",
            )
        )
        done = sfn.Succeed(self, "Curated")
        tail: sfn.IChainable = done
        if config.data_prep.labeling.enabled:
            tail = self._labeling(config, artifacts, data_key, guarded, done)
        after_transform = (
            sfn.Choice(self, "Duplicate?")
            .when(sfn.Condition.string_equals("$.curated.status", "duplicate"), sfn.Succeed(self, "AlreadyCurated"))
            .otherwise(tail)
        )
        enrich.next(transform).next(after_transform)
        route = (
            sfn.Choice(self, "Route")
            .when(sfn.Condition.string_equals("$.document.route", "textract"), textract.next(enrich))
            .otherwise(extract.next(enrich))
        )
        return classify.next(route)

    def _labeling(
        self, config: EnvironmentConfig, artifacts: s3.IBucket, data_key: kms.IKey, guarded: Any, done: sfn.State
    ) -> sfn.IChainable:
        """Ground Truth on the document's passages: a private workforce labels them, the consolidated
        labels become fine-tuning records."""
        labeling = config.data_prep.labeling
        environment = {"LABELING_TASK": labeling.task, "LABELS": json.dumps(list(labeling.labels))}
        pre = self._function(
            "LabelingPreFunction", "labeling_pre", "Ground Truth pre-annotation", Duration.seconds(30), environment
        )
        post = self._function(
            "LabelingPostFunction",
            "labeling_post",
            "Ground Truth annotation consolidation",
            Duration.minutes(5),
            environment,
        )
        post.role.add_managed_policy(
            self._data_lake.object_access_policy(
                "LabelingPostAccess",
                description="Ground Truth consolidation: read worker answers",
                grants=[(artifacts, "labeling/*", ["s3:GetObject"])],
            )
        )
        data_key.grant(post.role, "kms:Decrypt")

        retain = config.retains_data
        workforce = AnnotatorWorkforce(
            self, "Workforce", description="Private annotators of the data-preparation workflow", retain=retain
        )
        labeling_role = ManagedPolicyRole(
            self,
            "LabelingRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Ground Truth labeling jobs of the data-preparation workflow",
        )
        labeling_role.add_managed_policy(
            self._data_lake.object_access_policy(
                "LabelingJobAccess",
                description="Ground Truth labeling jobs: read inputs, write outputs",
                grants=[(artifacts, "labeling/*", ["s3:GetObject", "s3:PutObject"])],
            )
        )
        data_key.grant(labeling_role, "kms:Decrypt", "kms:GenerateDataKey")
        labeling_role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["lambda:InvokeFunction"], resources=[pre.function.function_arn, post.function.function_arn]
            )
        )
        labeling_role.grant_pass_role(self.state_machine_role)
        acknowledge(
            self.state_machine_role,
            f"AwsSolutions::AwsSolutions-IAM5[Resource::arn:{self.partition}:sagemaker:{self.region}:<AWS::AccountId>:"
            "labeling-job/dataprep-*]",
            "Each document gets its own labeling job named dataprep-<document id>-<time>; only those jobs",
        )
        self.state_machine_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LabelingJobs",
                actions=["sagemaker:CreateLabelingJob", "sagemaker:DescribeLabelingJob", "sagemaker:StopLabelingJob"],
                resources=[self.format_arn(service="sagemaker", resource="labeling-job", resource_name="dataprep-*")],
            )
        )
        self.state_machine_role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="LabelingJobEvents",
                actions=["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                resources=[
                    self.format_arn(
                        service="events",
                        resource="rule",
                        resource_name="StepFunctionsGetEventsForSageMakerLabelingJobsRule",
                    )
                ],
            )
        )

        manifest = guarded(
            self._invoke(
                "LabelingManifest", {"step": "labeling_manifest", "document.$": "$.document"}, "$.labeling_input"
            )
        )
        job = sfn.CustomState(
            self,
            "Labeling",
            state_json={
                "Type": "Task",
                "Resource": f"arn:{self.partition}:states:::sagemaker:createLabelingJob.sync",
                "ResultPath": "$.labeling",
                "Parameters": {
                    "LabelingJobName.$": "$.labeling_input.job_name",
                    "LabelAttributeName": "label",
                    "InputConfig": {
                        "DataSource": {"S3DataSource": {"ManifestS3Uri.$": "$.labeling_input.manifest_uri"}}
                    },
                    "OutputConfig": {"S3OutputPath.$": "$.labeling_input.output_uri", "KmsKeyId": data_key.key_arn},
                    "RoleArn": labeling_role.role_arn,
                    "LabelCategoryConfigS3Uri.$": "$.labeling_input.labels_uri",
                    "HumanTaskConfig": {
                        "WorkteamArn": workforce.workteam_arn,
                        "UiConfig": {"UiTemplateS3Uri.$": "$.labeling_input.template_uri"},
                        "PreHumanTaskLambdaArn": pre.function.function_arn,
                        "TaskTitle": "Label document passages",
                        "TaskDescription": f"{labeling.task} with labels: {', '.join(labeling.labels)}",
                        "NumberOfHumanWorkersPerDataObject": labeling.workers_per_object,
                        "TaskTimeLimitInSeconds": 600,
                        "AnnotationConsolidationConfig": {
                            "AnnotationConsolidationLambdaArn": post.function.function_arn
                        },
                    },
                },
            },
        )
        job.add_retry(
            errors=["SageMaker.AmazonSageMakerException", "ThrottlingException"],
            interval=Duration.seconds(30),
            max_attempts=3,
            backoff_rate=2,
            jitter_strategy=sfn.JitterType.FULL,
        )
        guarded(job)
        records = guarded(
            self._invoke(
                "LabelsToRecords",
                {
                    "step": "labels_to_records",
                    "manifest_uri.$": "$.labeling.LabelingJobOutput.OutputDatasetS3Uri",
                    "attribute": "label",
                    "document_id.$": "$.document.document_id",
                },
                "$.labeled",
            )
        )
        return manifest.next(job).next(records).next(done)
