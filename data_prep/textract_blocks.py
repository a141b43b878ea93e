"""Amazon Textract blocks to text, page by page, in reading order.

Each ``PAGE`` block lists its ``LINE`` blocks (``CHILD`` relationship) in the reading order
Textract determined, columns included; lines are joined with newlines and pages with a form
feed. Blocks may arrive from several ``Get*`` result pages in any order.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PAGE_SEPARATOR = "\f"


def assemble_text(blocks: Iterable[Mapping[str, Any]]) -> str:
    by_id: dict[str, Mapping[str, Any]] = {}
    pages: list[Mapping[str, Any]] = []
    for block in blocks:
        by_id[block["Id"]] = block
        if block.get("BlockType") == "PAGE":
            pages.append(block)
    pages.sort(key=lambda page: page.get("Page", 1))
    texts = []
    for page in pages:
        lines = [
            by_id[child]["Text"]
            for relationship in page.get("Relationships", [])
            if relationship.get("Type") == "CHILD"
            for child in relationship.get("Ids", [])
            if child in by_id and by_id[child].get("BlockType") == "LINE" and "Text" in by_id[child]
        ]
        texts.append("\n".join(lines))
    return PAGE_SEPARATOR.join(texts)


def page_count(blocks: Iterable[Mapping[str, Any]]) -> int:
    return sum(1 for block in blocks if block.get("BlockType") == "PAGE")
