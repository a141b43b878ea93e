"""Shared observability: the key for logs and alarms, and the alarm topic."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from llmops_constructs.alarm_topic import AlarmTopic
from llmops_constructs.platform_key import PlatformKey
from stacks.config import EnvironmentConfig


class ObservabilityStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        platform_key = PlatformKey(
            self,
            "ObservabilityKey",
            description="Encrypts the platform's log groups, dead-letter queues and alarm topic",
            retain=config.retains_data,
        )
        platform_key.allow_cloudwatch_logs()
        platform_key.allow_service_publishers("cloudwatch.amazonaws.com", "events.amazonaws.com", "sns.amazonaws.com")
        self.key = platform_key.key
        self.alarm_topic = AlarmTopic(
            self, "AlarmTopic", encryption_key=self.key, email=config.observability.alarm_email
        )
