"""Normalisation, chunking and curated records with lineage."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from data_prep.records import (
    Lineage,
    chunk_paragraphs,
    content_hash,
    fine_tuning_records,
    normalise,
    retrieval_records,
    to_jsonl,
)

LINEAGE = Lineage(
    "raw", "incoming/manuals/a.pdf", "v1", "arn:exec", "2026-11-26T00:00:00Z", "abc", "job-1", "en", "mask"
)


def test_normalise() -> None:
    assert normalise("Cafe\u0301\t\tbar \r\nnext\x00 line\f\n\n\n\nend  ") == "Café bar\nnext line\n\nend"
    assert content_hash(normalise("a  b")) == content_hash(normalise("a b"))


@given(st.text(max_size=300))
def test_normalise_is_idempotent(text: str) -> None:
    assert normalise(normalise(text)) == normalise(text)


@given(st.text(alphabet=st.sampled_from("ab \n"), max_size=400), st.integers(5, 50))
def test_chunks_respect_the_limit_and_keep_the_words(text: str, max_chars: int) -> None:
    chunks = chunk_paragraphs(text, max_chars)
    assert all(0 < len(chunk) <= max_chars for chunk in chunks)
    assert "".join("".join(chunks).split()) == "".join(text.split())


def test_fine_tuning_records_prefer_given_pairs() -> None:
    pairs = [{"instruction": "Summarise", "response": "Short."}, {"instruction": "", "response": "skipped"}]
    [record] = fine_tuning_records("ignored", LINEAGE, pairs=pairs)
    assert record["instruction"] == "Summarise" and record["lineage"]["source_key"] == "incoming/manuals/a.pdf"
    plain = fine_tuning_records("para one\n\npara two", LINEAGE, max_chars=10)
    assert [r["text"] for r in plain] == ["para one", "para two"]


def test_retrieval_records_carry_ids_positions_metadata_and_lineage() -> None:
    records = retrieval_records("one\n\ntwo", LINEAGE, document_id="doc", metadata={"language": "en"}, max_chars=4)
    assert [(r["id"], r["chunk"], r["chunks"], r["text"]) for r in records] == [
        ("doc#0", 0, 2, "one"),
        ("doc#1", 1, 2, "two"),
    ]
    assert records[0]["lineage"]["textract_job_id"] == "job-1"
    lines = to_jsonl(records).splitlines()
    assert [json.loads(line)["id"] for line in lines] == ["doc#0", "doc#1"]
