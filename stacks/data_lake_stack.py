"""The data lake: raw, curated and artifacts zones under one customer-managed key."""

from __future__ import annotations

from aws_cdk import Stack
from constructs import Construct

from llmops_constructs.builtin_providers import acknowledge_builtin_providers
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

        def zone(construct_id: str, transitions: tuple[StorageTransition, ...] = ()) -> SecureBucket:
            return SecureBucket(
                self,
                construct_id,
                encryption_key=self.key,
                access_logs=self.access_logs,
                retain=retain,
                noncurrent_version_expiration_days=lake.noncurrent_version_expiration_days,
                transitions=transitions,
            )

        self.raw = zone(
            "Raw",
            tuple(StorageTransition(t.storage_class, t.after_days) for t in lake.raw_transitions),
        ).bucket
        self.curated = zone("Curated").bucket
        self.artifacts = zone("Artifacts").bucket
        acknowledge_builtin_providers(self)
