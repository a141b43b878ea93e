"""A memorisation set small enough to learn in a few CPU steps."""

from __future__ import annotations

import json
from pathlib import Path

COLOURS = ("red", "green", "blue", "yellow", "black", "white", "pink", "grey")
RECORDS = [
    {"instruction": f"What colour is item {index}?", "response": f"Item {index} is {colour}."}
    for index, colour in enumerate(COLOURS)
]
CORPUS = [f"{r['instruction']} {r['response']}" for r in RECORDS] + ["### Instruction:\n\n### Response:\n"]


def write_jsonl(path: Path, records: list[dict[str, str]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path
