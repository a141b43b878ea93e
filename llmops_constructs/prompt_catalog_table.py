"""The prompt catalog's DynamoDB table (key design: prompt_catalog/store.py)."""

from __future__ import annotations

from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from constructs import Construct

from llmops_constructs.secure_table import secure_table
from prompt_catalog.store import LIST_INDEX


class PromptCatalogTable(Construct):
    """On-demand, KMS-encrypted, point-in-time recoverable; protected from deletion when retained."""

    def __init__(self, scope: Construct, construct_id: str, *, encryption_key: kms.IKey, retain: bool) -> None:
        super().__init__(scope, construct_id)
        self.table = secure_table(
            self,
            "Table",
            encryption_key=encryption_key,
            retain=retain,
            sort_key="sk",
            backup_reason="Point-in-time recovery keeps 35 days of continuous backups and deletion protection "
            "guards prod; long-term copies belong to the organisation's AWS Backup policy, not to this stack",
        )
        self.table.add_global_secondary_index(
            index_name=LIST_INDEX,
            partition_key=dynamodb.Attribute(name="item_type", type=dynamodb.AttributeType.STRING),
            sort_key=dynamodb.Attribute(name="name", type=dynamodb.AttributeType.STRING),
            projection_type=dynamodb.ProjectionType.ALL,
        )

    def grant_read_write(self, grantee: iam.IGrantable) -> iam.Grant:
        return self.table.grant_read_write_data(grantee)
