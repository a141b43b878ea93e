"""The SNS topic every platform alarm publishes to."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from llmops_constructs.dead_letter_queue import dead_letter_queue


class AlarmTopic(Construct):
    """KMS-encrypted, TLS-only alarm topic with an optional e-mail subscription.

    The key must let ``cloudwatch.amazonaws.com``, ``events.amazonaws.com`` and
    ``sns.amazonaws.com`` (for undelivered e-mails) use it.
    """

    def __init__(self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey, email: str | None) -> None:
        super().__init__(scope, construct_id)
        self.topic = sns.Topic(
            self,
            "Topic",
            display_name="LLMOps platform alarms",
            master_key=encryption_key,
            enforce_ssl=True,
        )
        self.dead_letter_queue: sqs.Queue | None = None
        if email is not None:
            self.dead_letter_queue = dead_letter_queue(
                self,
                "UndeliveredAlarms",
                encryption_key=encryption_key,
                owner="the alarm e-mail subscription",
                for_lambda=False,
            )
            self.topic.add_subscription(
                subscriptions.EmailSubscription(email, dead_letter_queue=self.dead_letter_queue)
            )
        self.action = cloudwatch_actions.SnsAction(self.topic)

    def alarm_on_any(
        self, scope: Construct, construct_id: str, metric: cloudwatch.IMetric, what: str
    ) -> cloudwatch.Alarm:
        """An alarm, in ``scope``, raised when ``metric`` counts one or more in a period, notifying this topic.

        ``what`` says what happened; the description names the scope's path too."""
        alarm = cloudwatch.Alarm(
            scope,
            construct_id,
            metric=metric,
            alarm_description=f"{scope.node.path}: {what}",
            threshold=1,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        self.notify_on(alarm)
        return alarm

    def notify_on(self, alarm: cloudwatch.Alarm) -> None:
        """Send the alarm's ALARM and OK transitions to the topic."""
        alarm.add_alarm_action(self.action)
        alarm.add_ok_action(self.action)
