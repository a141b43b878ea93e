"""The queue where undeliverable messages and failed events wait for an operator."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge_all


def dead_letter_queue(scope: Construct, construct_id: str, *, encryption_key: kms.IKey, owner: str) -> sqs.Queue:
    """A KMS-encrypted, TLS-only queue keeping messages 14 days (the SQS maximum).

    ``owner`` names what sends its failures here, for the acknowledgement's reason.
    """
    queue = sqs.Queue(
        scope,
        construct_id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
    )
    acknowledge_all(
        queue,
        ["AwsSolutions::AwsSolutions-SQS3", "Serverless::Serverless-SQSRedrivePolicy"],
        f"This queue is the dead-letter queue of {owner}; a dead-letter queue needs no DLQ of its own",
    )
    return queue
