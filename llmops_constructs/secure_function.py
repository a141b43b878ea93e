"""The one secure-by-default Lambda function construct every platform function uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from aws_cdk import Duration, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_logs as logs
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge, skip_checkov
from llmops_constructs.alarm_topic import AlarmTopic
from llmops_constructs.dead_letter_queue import dead_letter_queue
from llmops_constructs.managed_policy_role import ManagedPolicyRole
from llmops_constructs.python_bundling import bundled_code

RUNTIME = lambda_.Runtime.PYTHON_3_14
ARCHITECTURE = lambda_.Architecture.ARM_64
LAMBDA_ROOT = Path(__file__).resolve().parent.parent / "lambda"
POWERTOOLS_LAYER_SOURCE = LAMBDA_ROOT / "_layers" / "powertools"
DEFAULT_TIMEOUT = Duration.seconds(30)


class PowertoolsLayer(Construct):
    """Powertools for AWS Lambda (Python), pinned in lambda/_layers/powertools/requirements.txt.

    Built from PyPI without Docker; one per stack, shared by its functions (``of``).
    """

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self.layer = lambda_.LayerVersion(
            self,
            "Layer",
            code=bundled_code(
                POWERTOOLS_LAYER_SOURCE, runtime=RUNTIME, architecture=ARCHITECTURE, target_subdir="python"
            ),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[ARCHITECTURE],
            description="Powertools for AWS Lambda (Python)",
        )

    @classmethod
    def of(cls, scope: Construct) -> lambda_.ILayerVersion:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child("PowertoolsLayer")
        layer = existing if isinstance(existing, PowertoolsLayer) else cls(stack, "PowertoolsLayer")
        return layer.layer


@dataclass(frozen=True)
class FunctionPlatform:
    """Where the platform's functions run and report; built once per environment, used by every stack."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_groups: tuple[ec2.ISecurityGroup, ...]
    encryption_key: kms.IKey  # log groups, dead-letter queues, environment variables
    alarm_topic: AlarmTopic
    log_retention: logs.RetentionDays


class SecureFunction(Construct):
    """A Python Lambda function with the platform's defaults.

    Pinned runtime and architecture, explicit memory and timeout, X-Ray tracing, a
    KMS-encrypted log group with retention, a KMS-encrypted dead-letter queue for failed
    asynchronous invocations, reserved concurrency, placement in the isolated subnets, and
    Powertools for logging, metrics and tracing. Alarms on errors, throttles and dead letters go
    to the alarm topic.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        code_dir: Path,
        description: str,
        platform: FunctionPlatform,
        memory_size: int = 256,
        timeout: Duration = DEFAULT_TIMEOUT,
        reserved_concurrency: int = 5,
        environment: Mapping[str, str] | None = None,
        handler: str = "handler.handler",
        max_async_retries: int = 2,
        shared_packages: Sequence[Path] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        encryption_key = platform.encryption_key
        if not (code_dir / f"{handler.split('.')[0]}.py").is_file():
            raise ValueError(f"{construct_id}: {code_dir} has no {handler.split('.')[0]}.py for handler {handler!r}")
        self.log_group = logs.LogGroup(
            self, "LogGroup", encryption_key=encryption_key, retention=platform.log_retention
        )
        self.dead_letter_queue = dead_letter_queue(
            self,
            "DeadLetterQueue",
            encryption_key=encryption_key,
            owner="the function's asynchronous invocations",
            for_lambda=True,
        )
        self.role = ManagedPolicyRole(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Execution role of {construct_id}",
        )
        self._grant_runtime_permissions()
        self.function = lambda_.Function(
            self,
            "Function",
            role=self.role,
            description=description,
            runtime=RUNTIME,
            architecture=ARCHITECTURE,
            handler=handler,
            code=bundled_code(code_dir, runtime=RUNTIME, architecture=ARCHITECTURE, shared_packages=shared_packages),
            layers=[PowertoolsLayer.of(self)],
            memory_size=memory_size,
            timeout=timeout,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            reserved_concurrent_executions=reserved_concurrency,
            dead_letter_queue=self.dead_letter_queue,
            retry_attempts=max_async_retries,
            on_failure=destinations.SqsDestination(self.dead_letter_queue),
            vpc=platform.vpc,
            vpc_subnets=platform.subnets,
            security_groups=list(platform.security_groups),
            environment_encryption=encryption_key,
            environment={
                "POWERTOOLS_SERVICE_NAME": construct_id,
                "POWERTOOLS_METRICS_NAMESPACE": "LlmOps",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **(environment or {}),
            },
        )
        five_minutes = Duration.minutes(5)
        for alarm_id, metric, what in (
            ("ErrorsAlarm", self.function.metric_errors(period=five_minutes), "invocations failed"),
            ("ThrottlesAlarm", self.function.metric_throttles(period=five_minutes), "invocations were throttled"),
            (
                "DeadLettersAlarm",
                self.dead_letter_queue.metric_approximate_number_of_messages_visible(period=five_minutes),
                "events are waiting in the dead-letter queue",
            ),
        ):
            platform.alarm_topic.alarm_on_any(self, alarm_id, metric, what)

    def _grant_runtime_permissions(self) -> None:
        """What AWSLambdaBasicExecutionRole and AWSLambdaVPCAccessExecutionRole give, scoped down."""
        self.log_group.grant_write(self.role)
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],
            )
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                sid="XRayTraces",
                actions=["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                resources=["*"],
            )
        )
        wildcard_reason = (
            "Lambda's VPC network-interface actions and X-Ray's PutTraceSegments/PutTelemetryRecords "
            "support no resource-level permissions; nothing else in this role uses a wildcard resource"
        )
        acknowledge(self.role, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", wildcard_reason)
        assert self.role.grants_policy is not None
        skip_checkov(self.role.grants_policy.node.default_child, "CKV_AWS_111", wildcard_reason)  # type: ignore[arg-type]
        for action in ("kms:GenerateDataKey*", "kms:ReEncrypt*"):
            acknowledge(
                self.role,
                f"AwsSolutions::AwsSolutions-IAM5[Action::{action}]",
                f"{action} is the action family aws-cdk-lib's KMS grants use (the function's queue, "
                "environment and the data it is granted); it is granted on named keys only, never on '*'",
            )
