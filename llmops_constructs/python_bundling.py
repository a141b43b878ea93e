"""Docker-free bundling of Python Lambda code and layers."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

_IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "tests")
# Only used if local bundling declines; local bundling never declines on a machine with pip.
_FALLBACK_IMAGE = DockerImage.from_registry("public.ecr.aws/sam/build-python3.13")


@jsii.implements(ILocalBundling)
class LocalPythonBundling:
    """Copies the source folder and pip-installs its requirements.txt for the Lambda platform.

    Wheels are taken for the function's Python version and architecture only
    (``--only-binary=:all:``), so what runs locally never leaks into the bundle.
    """

    def __init__(
        self,
        source: Path,
        *,
        python_version: str,
        architecture: str,
        target_subdir: str = "",
        shared_packages: Sequence[Path] = (),
    ) -> None:
        self._source = source
        self._shared_packages = tuple(shared_packages)
        self._python_version = python_version
        self._platform = "manylinux2014_aarch64" if architecture == "arm64" else "manylinux2014_x86_64"
        self._target_subdir = target_subdir

    def try_bundle(self, output_dir: str, *_options: Any, **_keywords: Any) -> bool:
        target = Path(output_dir) / self._target_subdir
        target.mkdir(parents=True, exist_ok=True)
        requirements = self._source / "requirements.txt"
        if not self._target_subdir:
            shutil.copytree(self._source, target, dirs_exist_ok=True, ignore=_IGNORED)
            (target / "requirements.txt").unlink(missing_ok=True)
        for package in self._shared_packages:
            shutil.copytree(package, target / package.name, dirs_exist_ok=True, ignore=_IGNORED)
        if requirements.exists():
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-compile",
                    "--target",
                    str(target),
                    "--requirement",
                    str(requirements),
                    "--only-binary=:all:",
                    "--implementation",
                    "cp",
                    "--python-version",
                    self._python_version,
                    "--platform",
                    self._platform,
                ],
                check=True,
            )
        return True


def source_hash(*roots: Path, salt: str = "") -> str:
    """SHA-256 over every file under ``roots`` (paths and bytes), caches excluded."""
    digest = hashlib.sha256(salt.encode())
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            if "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def bundled_code(
    source: Path,
    *,
    runtime: lambda_.Runtime,
    architecture: lambda_.Architecture,
    target_subdir: str = "",
    shared_packages: Sequence[Path] = (),
) -> lambda_.Code:
    """Lambda code from ``source`` plus ``shared_packages``, bundled locally (no Docker) with its
    requirements. The asset hash covers all of them, so a change in a shared package redeploys."""
    python_version = runtime.name.removeprefix("python")
    return lambda_.Code.from_asset(
        str(source),
        asset_hash_type=AssetHashType.CUSTOM,
        asset_hash=source_hash(source, *shared_packages, salt=f"{runtime.name}/{architecture.name}/{target_subdir}"),
        bundling=BundlingOptions(
            image=_FALLBACK_IMAGE,
            local=LocalPythonBundling(
                source,
                python_version=python_version,
                architecture=architecture.name,
                target_subdir=target_subdir,
                shared_packages=shared_packages,
            ),
        ),
    )
