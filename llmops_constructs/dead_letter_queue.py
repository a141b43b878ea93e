"""The queue where undeliverable messages and failed events wait for an operator."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge_all


def dead_letter_queue(
    scope: Construct, construct_id: str, *, encryption_key: kms.IKey, owner: str, for_lambda: bool
) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue keeping messages 14 days (the SQS maximum).

    ``owner`` names what sends its failures here, for the acknowledgement's reason. AwsSolutions
    recognises a Lambda function's dead-letter queue (``for_lambda``) but not an SNS
    subscription's, whose queue it would flag for having no DLQ itself.
    """
    rules = ["Serverless::Serverless-SQSRedrivePolicy"]
    if not for_lambda:
        rules.append("AwsSolutions::AwsSolutions-SQS3")
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge_all(queue, rules, f"This queue is the dead-letter queue of {owner}; it needs no DLQ of its own")
    return queue
