"""cfn-lint and checkov over every synthesized template."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT, SynthesizedPlatform

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def _templates(platform: SynthesizedPlatform) -> list[str]:
    templates = sorted(str(path) for path in platform.outdir.glob("assembly-*/*.template.json"))
    assert templates, "nothing was synthesized"
    return templates


def test_cfn_lint_reports_no_error(platform: SynthesizedPlatform) -> None:
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--non-zero-exit-code", "error", "--format", "parseable", *_templates(platform)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ":E" in line]
    assert result.returncode == 0, result.stdout + result.stderr
    assert errors == []


def test_checkov_reports_no_failure(platform: SynthesizedPlatform) -> None:
    assert CHECKOV.exists(), "checkov lives in its own virtualenv: run `make test` (or `make deps`)"
    result = subprocess.run(
        [
            str(CHECKOV),
            "--directory",
            str(platform.outdir),
            "--framework",
            "cloudformation",
            "--skip-download",
            "--quiet",
            "--compact",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        (check["check_id"], check["resource"], check["file_path"])
        for report in reports
        for check in report["results"]["failed_checks"]
    ]
    passed = sum(report["summary"]["passed"] for report in reports)
    assert failed == []
    assert passed > 100, "checkov scanned nothing"
