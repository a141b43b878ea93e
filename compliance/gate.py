"""The security gate: cdk-nag packs and the project pack, registered on the App."""

from __future__ import annotations

from aws_cdk import App, Validations
from cdk_nag import AwsSolutionsChecks, HIPAASecurityChecks, NagPack, NIST80053R5Checks, ServerlessChecks

from compliance.project_pack import LlmOpsChecks


def compliance_packs(app: App) -> list[NagPack]:
    return [
        AwsSolutionsChecks(app),
        ServerlessChecks(app),
        NIST80053R5Checks(app),
        HIPAASecurityChecks(app),
        LlmOpsChecks(app),
    ]


def add_compliance_gate(app: App) -> None:
    """Make ``app.synth()`` fail on any unacknowledged finding of any pack."""
    Validations.of(app).add_plugins(*compliance_packs(app))
