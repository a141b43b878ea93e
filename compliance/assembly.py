"""Reading a synthesized cloud assembly: which template belongs to which stage and stack."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class SynthesizedStack:
    stage: str  # "LlmOps-dev"
    name: str  # "Network"
    template_file: Path

    @property
    def environment(self) -> str:
        return self.stage.rsplit("-", 1)[-1]

    def template(self) -> dict[str, Any]:
        result: dict[str, Any] = json.loads(self.template_file.read_text())
        return result

    def metadata(self) -> dict[str, list[dict[str, Any]]]:
        """Construct metadata by construct path (acknowledgements live here)."""
        metadata_file = self.template_file.with_name(self.template_file.name.replace(".template.", ".metadata."))
        result: dict[str, list[dict[str, Any]]] = json.loads(metadata_file.read_text())
        return result


def synthesized_stacks(outdir: Path) -> list[SynthesizedStack]:
    """Every stack of every stage under ``outdir``, stages sorted by name, stacks in manifest order."""
    stacks = []
    for assembly in sorted(outdir.glob("assembly-*")):
        manifest = json.loads((assembly / "manifest.json").read_text())
        for artifact in manifest["artifacts"].values():
            if artifact["type"] == "aws:cloudformation:stack":
                stage, name = artifact["displayName"].split("/", 1)
                stacks.append(SynthesizedStack(stage, name, assembly / artifact["properties"]["templateFile"]))
    return stacks
