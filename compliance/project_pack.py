"""LlmOps: what the stock cdk-nag packs do not check."""

from __future__ import annotations

from aws_cdk import CfnResource
from cdk_nag import NagPack

PACK_NAME = "LlmOps"


class LlmOpsChecks(NagPack):
    def __init__(self, scope=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(scope)
        self._pack_name = PACK_NAME

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        pass
