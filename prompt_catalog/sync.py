"""Prompts as code: register each prompt's content and point the environment's alias at it.

Idempotent: unchanged content registers no new version (its existing version is reused) and an
alias already at the right version is not rewritten.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from prompt_catalog.errors import NotFoundError
from prompt_catalog.model import PromptContent, check_name, parse_content
from prompt_catalog.store import PromptStore

SYNC_AUTHOR = "prompts-as-code"


@dataclass(frozen=True)
class SyncedPrompt:
    name: str
    version: int
    created: bool
    alias_moved: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "version": self.version, "created": self.created, "alias_moved": self.alias_moved}


def parse_prompt_definitions(raw: Any) -> list[tuple[str, PromptContent]]:
    """``[{"name": ..., **content}, ...]`` as validated (name, content) pairs."""
    if not isinstance(raw, list):
        raise ValueError("prompt definitions must be a list")
    parsed = []
    for definition in raw:
        if not isinstance(definition, dict):
            raise ValueError("each prompt definition must be an object")
        fields = dict(definition)
        parsed.append((check_name(fields.pop("name", None)), parse_content(fields)))
    names = [name for name, _ in parsed]
    duplicate = next((name for name in names if names.count(name) > 1), None)
    if duplicate:
        raise ValueError(f"prompt {duplicate!r} is defined more than once")
    return parsed


def sync_prompts(store: PromptStore, prompts: Iterable[tuple[str, PromptContent]], alias: str) -> list[SyncedPrompt]:
    results = []
    for name, content in prompts:
        registration = store.register(name, content, SYNC_AUTHOR)
        version = registration.version.version
        try:
            current: int | None = store.get_alias(name, alias).version
        except NotFoundError:
            current = None
        if current != version:
            store.move_alias(name, alias, version, updated_by=SYNC_AUTHOR, expected_version=current or 0)
        results.append(SyncedPrompt(name, version, registration.created, current != version))
    return results
