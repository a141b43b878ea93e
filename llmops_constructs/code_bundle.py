"""Job code as one reproducible ``.tar.gz`` asset: what SageMaker's training toolkit unpacks.

A folder asset would be zipped, and the toolkit's ``sagemaker_submit_directory`` wants a
gzipped tar. The archive is written at synth with sorted entries and zeroed times and owners,
so the same sources always give the same bytes, the same asset hash and no needless upload.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from constructs import Construct

EXCLUDED_PARTS = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache"})


def deterministic_tarball(root: Path, members: Sequence[str]) -> bytes:
    """The ``.py`` files of ``members`` (paths relative to ``root``), gzipped, byte-for-byte reproducible."""
    files = sorted(
        path
        for member in members
        for path in ([root / member] if (root / member).is_file() else (root / member).rglob("*.py"))
        if not EXCLUDED_PARTS & set(path.relative_to(root).parts)
    )
    if not files:
        raise ValueError(f"no Python files under {', '.join(members)} in {root}")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in files:
            data = path.read_bytes()
            info = tarfile.TarInfo(path.relative_to(root).as_posix())
            info.size, info.mode, info.mtime = len(data), 0o644, 0
            tar.addfile(info, io.BytesIO(data))
    compressed = io.BytesIO()
    with gzip.GzipFile(fileobj=compressed, mode="wb", mtime=0, filename="") as archive:
        archive.write(raw.getvalue())
    return compressed.getvalue()


class CodeBundle(Construct):
    """``members`` of ``root`` as one ``.tar.gz`` in the CDK assets bucket.

    ``s3_uri`` is the object's URI (a token), ``file_name`` its literal key (``<hash>.tar.gz``),
    which is also its name inside a job's input channel.
    """

    def __init__(self, scope: Construct, construct_id: str, *, root: Path, members: Sequence[str]) -> None:
        super().__init__(scope, construct_id)
        content = deterministic_tarball(root, members)
        staging = Path(tempfile.gettempdir()) / "llmops-code-bundles"  # CDK copies it into the assembly
        staging.mkdir(exist_ok=True)
        archive = staging / f"{hashlib.sha256(content).hexdigest()}.tar.gz"
        if not archive.exists():
            partial = archive.with_suffix(f".{os.getpid()}.partial")
            partial.write_bytes(content)
            os.replace(partial, archive)
        self.asset = s3_assets.Asset(self, "Asset", path=str(archive))
        self.s3_uri: str = self.asset.s3_object_url
        self.file_name: str = self.asset.s3_object_key.rsplit("/", 1)[-1]

    def grant_read(self, grantee: iam.IGrantable) -> None:
        self.asset.grant_read(grantee)
