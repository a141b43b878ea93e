"""Preprocessing job of the fine-tuning pipeline: curated JSONL in, train/validation/test out.

Reads every ``*.jsonl`` under ``--input`` (the data-preparation workflow's ``fine-tuning/``
records), keeps records that are plain text (``text``) or instruction pairs (``instruction``,
optional ``input``, ``response``), drops and counts malformed, empty and over-long records and
exact duplicates, and splits the rest deterministically by content hash. Writes
``train.jsonl``, ``validation.jsonl``, ``test.jsonl`` and ``report.json`` (the counts, and why
records were dropped) under ``--output``. Standard library only: it runs in any Python image.

    python preprocess.py --input /opt/ml/processing/input --output /opt/ml/processing/output
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SPLITS = ("train", "validation", "test")


@dataclass
class Report:
    files: int = 0
    read: int = 0
    kept: int = 0
    dropped: Counter[str] = field(default_factory=Counter)
    splits: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "files": self.files,
            "read": self.read,
            "kept": self.kept,
            "dropped": dict(self.dropped),
            "splits": self.splits,
        }


def normalised_record(raw: Any, max_chars: int) -> tuple[dict[str, str] | None, str | None]:
    """The training fields of one record, or why it is dropped."""
    if not isinstance(raw, dict):
        return None, "not an object"
    if "text" in raw and not {"instruction", "response"} & raw.keys():
        text = raw["text"]
        if not isinstance(text, str):
            return None, "text is not a string"
        record = {"text": text.strip()}
    elif "instruction" in raw or "response" in raw:
        fields = {key: raw.get(key, "") for key in ("instruction", "input", "response")}
        if not all(isinstance(value, str) for value in fields.values()):
            return None, "instruction, input or response is not a string"
        if not fields["instruction"].strip() or not fields["response"].strip():
            return None, "empty instruction or response"
        record = {key: value.strip() for key, value in fields.items() if value.strip()}
    else:
        return None, "neither text nor instruction/response"
    if not any(record.values()):
        return None, "empty"
    if sum(len(value) for value in record.values()) > max_chars:
        return None, f"longer than {max_chars} characters"
    return record, None


def read_records(paths: Iterable[Path], report: Report) -> Iterator[dict[str, Any]]:
    for path in paths:
        report.files += 1
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                report.read += 1
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:
                    report.dropped["invalid JSON"] += 1


def content_key(record: dict[str, str]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def split(records: dict[str, dict[str, str]], validation: float, test: float) -> dict[str, list[dict[str, str]]]:
    """Deterministic: records ordered by content hash, the first for test, then validation.

    With three records or more, each split gets at least one."""
    ordered = [records[key] for key in sorted(records)]
    count = len(ordered)
    n_test = max(1, round(count * test)) if count >= 3 else 0
    n_validation = max(1, round(count * validation)) if count >= 3 else 0
    return {
        "test": ordered[:n_test],
        "validation": ordered[n_test : n_test + n_validation],
        "train": ordered[n_test + n_validation :],
    }


def preprocess(input_dir: Path, output_dir: Path, *, max_chars: int, validation: float, test: float) -> Report:
    report = Report()
    unique: dict[str, dict[str, str]] = {}
    for raw in read_records(sorted(input_dir.rglob("*.jsonl")), report):
        record, reason = normalised_record(raw, max_chars)
        if record is None:
            report.dropped[reason or "unknown"] += 1
            continue
        key = content_key(record)
        if key in unique:
            report.dropped["duplicate"] += 1
            continue
        unique[key] = record
    report.kept = len(unique)
    output_dir.mkdir(parents=True, exist_ok=True)
    for name, records in split(unique, validation, test).items():
        (output_dir / f"{name}.jsonl").write_text(
            "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records),
            encoding="utf-8",
        )
        report.splits[name] = len(records)
    (output_dir / "report.json").write_text(json.dumps(report.to_dict(), indent=2, sort_keys=True))
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max-chars", type=int, default=16_000)
    parser.add_argument("--validation-fraction", type=float, default=0.1)
    parser.add_argument("--test-fraction", type=float, default=0.1)
    args = parser.parse_args(argv)
    if not 0 < args.validation_fraction + args.test_fraction < 1:
        parser.error("validation and test fractions must add up to more than 0 and less than 1")
    report = preprocess(
        args.input, args.output, max_chars=args.max_chars, validation=args.validation_fraction, test=args.test_fraction
    )
    print(json.dumps(report.to_dict(), sort_keys=True))
    if report.kept < 3:
        print(f"only {report.kept} usable records: too few to train and evaluate", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
