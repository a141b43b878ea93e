"""Preprocessing: malformed input is counted, never fatal; splits are deterministic and disjoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.scripts.preprocess import main, preprocess


def write(directory: Path, name: str, lines: list[Any]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / name).write_text(
        "\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n", encoding="utf-8"
    )


def read(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_malformed_records_are_dropped_and_counted(tmp_path: Path) -> None:
    write(
        tmp_path / "in" / "hr",
        "a.jsonl",
        [
            {"text": "first document"},
            {"instruction": "Summarise", "input": "long text", "response": "short"},
            {"text": "first document"},  # duplicate
            "{not json",
            {"text": 42},
            {"instruction": "", "response": "x"},
            {"other": "field"},
            {"text": "x" * 50},
            [1, 2],
        ],
    )
    write(tmp_path / "in" / "faq", "b.jsonl", [{"text": f"record {i}"} for i in range(7)])
    report = preprocess(tmp_path / "in", tmp_path / "out", max_chars=40, validation=0.1, test=0.1)
    assert report.read == 16 and report.files == 2 and report.kept == 9
    assert report.dropped == {
        "duplicate": 1,
        "invalid JSON": 1,
        "text is not a string": 1,
        "empty instruction or response": 1,
        "neither text nor instruction/response": 1,
        "longer than 40 characters": 1,
        "not an object": 1,
    }
    assert report.splits == {"test": 1, "validation": 1, "train": 7}
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["kept"] == 9


def test_splits_are_disjoint_complete_and_stable(tmp_path: Path) -> None:
    write(tmp_path / "in", "a.jsonl", [{"text": f"record {i}"} for i in range(50)])
    preprocess(tmp_path / "in", tmp_path / "one", max_chars=100, validation=0.2, test=0.1)
    preprocess(tmp_path / "in", tmp_path / "two", max_chars=100, validation=0.2, test=0.1)
    splits = {name: read(tmp_path / "one" / f"{name}.jsonl") for name in ("train", "validation", "test")}
    assert [len(splits[name]) for name in ("train", "validation", "test")] == [35, 10, 5]
    texts = [r["text"] for records in splits.values() for r in records]
    assert sorted(texts) == sorted(f"record {i}" for i in range(50))
    for name in splits:
        assert (tmp_path / "one" / f"{name}.jsonl").read_text() == (tmp_path / "two" / f"{name}.jsonl").read_text()


def test_too_few_records_fail_the_job_with_a_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path / "in", "a.jsonl", [{"text": "only one"}])
    assert main(["--input", str(tmp_path / "in"), "--output", str(tmp_path / "out")]) == 1
    assert "only 1 usable records" in capsys.readouterr().err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(
        st.one_of(
            st.text(max_size=40),
            st.dictionaries(
                st.sampled_from(["text", "instruction", "input", "response", "x"]),
                st.one_of(st.text(max_size=20), st.integers(), st.none()),
                max_size=4,
            ).map(json.dumps),
        ),
        max_size=20,
    )
)
def test_any_input_is_counted_never_fatal(tmp_path_factory: pytest.TempPathFactory, lines: list[str]) -> None:
    directory = tmp_path_factory.mktemp("fuzz")
    (directory / "in").mkdir()
    (directory / "in" / "a.jsonl").write_text("\n".join(line.replace("\n", " ") for line in lines))
    report = preprocess(directory / "in", directory / "out", max_chars=1000, validation=0.1, test=0.1)
    assert report.kept + sum(report.dropped.values()) == report.read
    assert sum(report.splits.values()) == report.kept
