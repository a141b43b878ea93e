"""Redacting the PII entities Amazon Comprehend found, by character offset.

``mask`` replaces each entity with ``[TYPE]``; ``drop`` removes it. Entities found in pieces
of a split text carry the piece's offset, so offsets are shifted back to the whole text first.
Overlapping entities are merged so no character is redacted twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

RedactionMode = Literal["mask", "drop"]


@dataclass(frozen=True, order=True)
class Entity:
    begin: int
    end: int
    type: str
    score: float = 1.0


def entities_from_comprehend(
    response: Mapping[str, Any], piece_offset: int = 0, min_score: float = 0.0
) -> list[Entity]:
    """``DetectPiiEntities`` results of one piece, as entities of the whole text."""
    return [
        Entity(e["BeginOffset"] + piece_offset, e["EndOffset"] + piece_offset, e["Type"], e.get("Score", 1.0))
        for e in response.get("Entities", [])
        if e.get("Score", 1.0) >= min_score
    ]


def _merged(entities: Iterable[Entity]) -> list[Entity]:
    merged: list[Entity] = []
    for entity in sorted(entities):
        if merged and entity.begin < merged[-1].end:
            last = merged[-1]
            merged[-1] = Entity(last.begin, max(last.end, entity.end), last.type, max(last.score, entity.score))
        else:
            merged.append(entity)
    return merged


def redact(text: str, entities: Iterable[Entity], mode: RedactionMode = "mask") -> str:
    if mode not in ("mask", "drop"):
        raise ValueError(f"redaction mode {mode!r} is not 'mask' or 'drop'")
    parts, cursor = [], 0
    for entity in _merged(entities):
        begin, end = max(entity.begin, cursor), min(entity.end, len(text))
        if begin >= end:
            continue
        parts.append(text[cursor:begin])
        if mode == "mask":
            parts.append(f"[{entity.type}]")
        cursor = end
    parts.append(text[cursor:])
    return "".join(parts)
