"""docs/security.md lists exactly the exceptions the code makes."""

from __future__ import annotations

from compliance.report import render
from tests.conftest import REPO_ROOT, SynthesizedPlatform


def test_security_doc_is_in_step_with_the_code(platform: SynthesizedPlatform) -> None:
    committed = (REPO_ROOT / "docs" / "security.md").read_text()
    assert committed == render(platform.outdir), "run `make docs` and commit docs/security.md"


def test_security_doc_lists_acknowledgements_and_checkov_skips(platform: SynthesizedPlatform) -> None:
    page = render(platform.outdir)
    assert "| `DataLake/AccessLogs/Bucket` | `NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS` |" in page
    assert "`CKV_AWS_18`" in page
