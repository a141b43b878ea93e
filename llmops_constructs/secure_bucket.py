"""S3 buckets with the platform's defaults: private, TLS only, versioned, logged, encrypted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import Duration
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge_all, skip_checkov
from llmops_constructs.removal import removal_policy

_REPLICATION_REASON = (
    "Durability comes from versioning, noncurrent-version retention and RETAIN in prod; "
    "cross-region replication is a disaster-recovery choice per deployment, not a default"
)
_REPLICATION_RULES = (
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
    "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
)


@dataclass(frozen=True)
class StorageTransition:
    storage_class: str
    after_days: int


class AccessLogBucket(Construct):
    """Destination of S3 server access logs for the platform's buckets."""

    def __init__(self, scope: Construct, construct_id: str, *, retain: bool, expiration_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(expiration_days),
                    noncurrent_version_expiration=Duration.days(1),
                    abort_incomplete_multipart_upload_after=Duration.days(1),
                )
            ],
            removal_policy=removal_policy(retain),
            auto_delete_objects=not retain,
        )
        acknowledge_all(
            self.bucket,
            [
                "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
                "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
            ],
            "S3 server access log delivery only writes to buckets encrypted with SSE-S3, not SSE-KMS",
        )
        acknowledge_all(self.bucket, _REPLICATION_RULES, _REPLICATION_REASON)
        skip_checkov(
            self.bucket.node.default_child,  # type: ignore[arg-type]
            "CKV_AWS_18",
            "This is the access-log destination bucket; logging it to itself would loop",
        )


class SecureBucket(Construct):
    """A KMS-encrypted, versioned, access-logged private bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        encryption_key: kms.IKey,
        access_logs: s3.IBucket,
        retain: bool,
        noncurrent_version_expiration_days: int,
        transitions: Sequence[StorageTransition] = (),
        event_bridge: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.KMS,
            encryption_key=encryption_key,
            bucket_key_enabled=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            event_bridge_enabled=event_bridge or None,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=f"{construct_id}/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireNoncurrentVersions",
                    noncurrent_version_expiration=Duration.days(noncurrent_version_expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    transitions=[
                        s3.Transition(
                            storage_class=s3.StorageClass(transition.storage_class),
                            transition_after=Duration.days(transition.after_days),
                        )
                        for transition in transitions
                    ]
                    or None,
                )
            ],
            removal_policy=removal_policy(retain),
            auto_delete_objects=not retain,
        )
        acknowledge_all(self.bucket, _REPLICATION_RULES, _REPLICATION_REASON)
