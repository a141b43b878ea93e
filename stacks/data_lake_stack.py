"""The data lake: raw, curated and artifacts zones under one customer-managed key."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge, wildcard_resource_finding
from llmops_constructs.builtin_providers import acknowledge_bucket_notifications, acknowledge_builtin_providers
from llmops_constructs.platform_key import PlatformKey
from llmops_constructs.secure_bucket import AccessLogBucket, SecureBucket, StorageTransition
from stacks.config import EnvironmentConfig


class DataLakeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, **kwargs: object) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        lake = config.data_lake
        retain = config.retains_data
        self.key = PlatformKey(
            self, "DataKey", description="Encrypts the data lake's raw, curated and artifacts zones", retain=retain
        ).key
        self.access_logs = AccessLogBucket(
            self, "AccessLogs", retain=retain, expiration_days=lake.access_log_expiration_days
        ).bucket

        def zone(
            construct_id: str, transitions: tuple[StorageTransition, ...] = (), *, event_bridge: bool = False
        ) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                encryption_key=self.key,
                access_logs=self.access_logs,
                retain=retain,
                noncurrent_version_expiration_days=lake.noncurrent_version_expiration_days,
                transitions=transitions,
                event_bridge=event_bridge,
            )

        self.raw = zone(
            "Raw",
            tuple(StorageTransition(t.storage_class, t.after_days) for t in lake.raw_transitions),
            event_bridge=True,  # new documents start the data-preparation workflow
        ).bucket
        self.curated = zone("Curated").bucket
        self.artifacts = zone("Artifacts").bucket
        acknowledge_builtin_providers(self)
        acknowledge_bucket_notifications(self)

    def object_access_policy(
        self, construct_id: str, *, description: str, grants: Sequence[tuple[s3.IBucket, str, Sequence[str]]]
    ) -> iam.ManagedPolicy:
        """A managed policy, owned by this stack, for object actions on key prefixes of its buckets.

        Consumers attach it to their roles. Living here, its statements name the buckets by
        their local ARNs, so each prefix wildcard is acknowledged precisely.
        """
        policy = iam.ManagedPolicy(
            self,
            construct_id,
            description=description,
            statements=[
                iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(pattern)])
                for bucket, pattern, actions in grants
            ],
        )
        for bucket, pattern, _ in grants:
            acknowledge(
                policy,
                wildcard_resource_finding(self, bucket.bucket_arn, f"/{pattern}"),
                f"Object-level access under the {pattern.rstrip('*')} prefix only, whose object keys are made "
                "at run time (per document, run or model)",
            )
        return policy
