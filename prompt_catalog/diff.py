"""What changed between two versions of a prompt."""

from __future__ import annotations

import difflib
import json
from typing import Any

from prompt_catalog.model import PromptVersion


def _lines(value: Any) -> list[str]:
    text = value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True)
    return text.splitlines(keepends=False)


def diff_versions(old: PromptVersion, new: PromptVersion) -> dict[str, Any]:
    """Changed content fields, each with a unified diff from ``old`` to ``new``."""
    before, after = old.content.to_dict(), new.content.to_dict()
    changes = {}
    for field in sorted(set(before) | set(after)):
        if before.get(field) == after.get(field):
            continue
        changes[field] = "\n".join(
            difflib.unified_diff(
                _lines(before.get(field, "")),
                _lines(after.get(field, "")),
                fromfile=f"{old.name}@{old.version}/{field}",
                tofile=f"{new.name}@{new.version}/{field}",
                lineterm="",
            )
        )
    return {
        "name": new.name,
        "from": {"version": old.version, "content_hash": old.content_hash},
        "to": {"version": new.version, "content_hash": new.content_hash},
        "identical": not changes,
        "changes": changes,
    }
