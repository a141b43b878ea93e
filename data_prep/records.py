"""Normalised text, content fingerprints, and the curated JSONL records with their lineage."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise(text: str) -> str:
    """NFC, no control characters (form feeds become paragraph breaks), single spaces,
    at most one blank line, no trailing spaces."""
    text = unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", text)
    text = _SPACES.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _BLANK_LINES.sub("\n\n", text).strip()


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Lineage:
    source_bucket: str
    source_key: str
    source_version: str | None
    execution: str
    processed_at: str
    content_hash: str
    textract_job_id: str | None = None
    language: str | None = None
    pii_redaction: str | None = None


def chunk_paragraphs(text: str, max_chars: int) -> list[str]:
    """Paragraph-aligned chunks of at most ``max_chars`` (a longer paragraph is cut at spaces)."""
    chunks: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        while len(paragraph) > max_chars:
            cut = paragraph.rfind(" ", 0, max_chars)
            cut = cut if cut > 0 else max_chars
            if current:
                chunks.append(current)
                current = ""
            chunks.append(paragraph[:cut].strip())
            paragraph = paragraph[cut:].strip()
        candidate = f"{current}\n\n{paragraph}" if current else paragraph
        if len(candidate) > max_chars and current:
            chunks.append(current)
            current = paragraph
        else:
            current = candidate
    if current:
        chunks.append(current)
    return [chunk for chunk in chunks if chunk]


def fine_tuning_records(
    text: str, lineage: Lineage, *, max_chars: int = 4_000, pairs: Iterable[Mapping[str, str]] = ()
) -> list[dict[str, Any]]:
    """Instruction/response records when the source gave pairs, else plain-text records."""
    meta = {"lineage": asdict(lineage)}
    given = [
        {"instruction": pair["instruction"], "response": pair["response"], **meta}
        for pair in pairs
        if pair.get("instruction") and pair.get("response")
    ]
    if given:
        return given
    return [{"text": chunk, **meta} for chunk in chunk_paragraphs(text, max_chars)]


def retrieval_records(
    text: str, lineage: Lineage, *, document_id: str, metadata: Mapping[str, Any], max_chars: int = 2_000
) -> list[dict[str, Any]]:
    """One record per chunk, each with the document id, its position and the document's metadata."""
    chunks = chunk_paragraphs(text, max_chars)
    return [
        {
            "id": f"{document_id}#{index}",
            "document_id": document_id,
            "chunk": index,
            "chunks": len(chunks),
            "text": chunk,
            "metadata": dict(metadata),
            "lineage": asdict(lineage),
        }
        for index, chunk in enumerate(chunks)
    ]


def to_jsonl(records: Iterable[Mapping[str, Any]]) -> str:
    return "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n" for record in records)
