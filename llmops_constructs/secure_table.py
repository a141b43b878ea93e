"""DynamoDB tables with the platform's defaults: on demand, KMS, point-in-time recovery, protected in prod."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge_all
from llmops_constructs.removal import removal_policy

_STRING = dynamodb.AttributeType.STRING


def secure_table(
    scope: Construct,
    construct_id: str,
    *,
    encryption_key: kms.IKey,
    retain: bool,
    backup_reason: str,
    sort_key: str | None = None,
    time_to_live_attribute: str | None = None,
) -> dynamodb.Table:
    """A table keyed by ``pk`` (and ``sort_key``), deletion-protected and retained when ``retain``.

    ``backup_reason`` says why point-in-time recovery, without an AWS Backup plan, is enough.
    """
    table = dynamodb.Table(
        scope,
        construct_id,
        partition_key=dynamodb.Attribute(name="pk", type=_STRING),
        sort_key=dynamodb.Attribute(name=sort_key, type=_STRING) if sort_key else None,
        billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
        encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
        encryption_key=encryption_key,
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True
        ),
        time_to_live_attribute=time_to_live_attribute,
        deletion_protection=retain,
        removal_policy=removal_policy(retain),
    )
    acknowledge_all(
        table,
        ["NIST.800.53.R5::NIST.800.53.R5-DynamoDBInBackupPlan", "HIPAA.Security::HIPAA.Security-DynamoDBInBackupPlan"],
        backup_reason,
    )
    return table
