"""The data-preparation workflow's steps as plain functions over boto3 clients.

Each step reads its input from S3, writes its output to S3 under deterministic keys (so a
re-run overwrites instead of duplicating) and returns a small JSON-able result for the state
machine. A ``DocumentError`` means the document itself cannot be processed; the workflow
quarantines it with the message.

Raw bucket prefixes: ``incoming/<dataset>/...`` (documents arrive), ``work/<document id>/``
(intermediate text, never leaves the raw zone unredacted), ``quarantine/`` (failed documents
and their error records). Curated bucket: ``fine-tuning/<dataset>/<document id>.jsonl`` and
``retrieval/<dataset>/<document id>.jsonl``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any

from botocore.exceptions import ClientError

from data_prep.pii import Entity, RedactionMode, entities_from_comprehend, redact
from data_prep.records import Lineage, content_hash, fine_tuning_records, normalise, retrieval_records, to_jsonl
from data_prep.text_split import split_utf8

INCOMING = "incoming/"
TEXTRACT_SUFFIXES = {".pdf", ".png", ".jpg", ".jpeg", ".tif", ".tiff"}
TEXT_SUFFIXES = {".txt", ".md", ".json", ".jsonl", ".csv"}
PII_LANGUAGES = {"en", "es"}  # DetectPiiEntities' languages
# Comprehend is called synchronously in 100 KB pieces: 5 MB is about 100 calls, well inside a step's time.
MAX_TEXT_BYTES = 5 * 1024 * 1024


class DocumentError(Exception):
    """The document cannot be turned into records (empty, corrupt, unsupported, ...)."""


@dataclass(frozen=True)
class Document:
    bucket: str
    key: str
    version_id: str | None
    size: int
    dataset: str
    document_id: str  # of the source object, the same for all its versions: its records are replaced
    route: str  # "textract" | "text"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Document:
        return cls(**{field: data.get(field) for field in cls.__dataclass_fields__})  # type: ignore[arg-type]

    @property
    def version_token(self) -> str:
        """Identifies this version of the document (Textract's idempotency token, the work prefix)."""
        return hashlib.sha256(f"{self.document_id}@{self.version_id or ''}".encode()).hexdigest()[:32]

    @property
    def work_prefix(self) -> str:
        return f"work/{self.version_token}/"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def classify(s3: Any, bucket: str, key: str, version_id: str | None) -> Document:
    """Which route a new object takes; ``DocumentError`` for what cannot be processed at all."""
    if not key.startswith(INCOMING) or key.count("/") < 2:
        raise DocumentError(f"{key!r} is not under {INCOMING}<dataset>/")
    extra = {"VersionId": version_id} if version_id else {}
    head = s3.head_object(Bucket=bucket, Key=key, **extra)
    size = head["ContentLength"]
    suffix = PurePosixPath(key).suffix.lower()
    if size == 0:
        raise DocumentError("the document is empty")
    if suffix in TEXTRACT_SUFFIXES:
        route = "textract"
    elif suffix in TEXT_SUFFIXES:
        route = "text"
    else:
        raise DocumentError(f"unsupported document type {suffix or '(none)'!r}")
    if route == "text" and size > MAX_TEXT_BYTES:
        raise DocumentError(f"{size} bytes of text is over the {MAX_TEXT_BYTES}-byte limit")
    return Document(
        bucket=bucket,
        key=key,
        version_id=head.get("VersionId") or version_id,
        size=size,
        dataset=key.split("/")[1],
        document_id=hashlib.sha256(f"{bucket}/{key}".encode()).hexdigest()[:32],
        route=route,
    )


def _read(s3: Any, bucket: str, key: str, version_id: str | None = None) -> bytes:
    extra = {"VersionId": version_id} if version_id else {}
    body: bytes = s3.get_object(Bucket=bucket, Key=key, **extra)["Body"].read()
    return body


def _write(s3: Any, bucket: str, key: str, body: str, content_type: str = "text/plain; charset=utf-8") -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=body.encode(), ContentType=content_type)


def extract_text(s3: Any, document: Document) -> dict[str, Any]:
    """Plain text, JSON and CSV to text (and instruction/response pairs when a JSON gives them)."""
    raw = _read(s3, document.bucket, document.key, document.version_id)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(f"not UTF-8 text (byte {error.start})") from None
    suffix = PurePosixPath(document.key).suffix.lower()
    pairs: list[dict[str, str]] = []
    if suffix in {".json", ".jsonl"}:
        text, pairs = _json_text(text, jsonl=suffix == ".jsonl")
    elif suffix == ".csv":
        text = _csv_text(text)
    if not text.strip():
        raise DocumentError("the document has no text")
    text_key = f"{document.work_prefix}text.txt"
    _write(s3, document.bucket, text_key, text)
    if pairs:
        _write(s3, document.bucket, f"{document.work_prefix}pairs.json", json.dumps(pairs), "application/json")
    return {"text_key": text_key, "pairs": len(pairs), "textract_job_id": None}


def _json_text(text: str, *, jsonl: bool) -> tuple[str, list[dict[str, str]]]:
    try:
        items = [json.loads(line) for line in text.splitlines() if line.strip()] if jsonl else [json.loads(text)]
    except json.JSONDecodeError as error:
        raise DocumentError(f"invalid JSON at line {error.lineno}: {error.msg}") from None
    if len(items) == 1 and isinstance(items[0], list):
        items = items[0]
    pairs = [
        {"instruction": str(item["instruction"]), "response": str(item["response"])}
        for item in items
        if isinstance(item, dict) and item.get("instruction") and item.get("response")
    ]
    strings: list[str] = []

    def collect(value: Any) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(items)
    return "\n\n".join(strings), pairs


def _csv_text(text: str) -> str:
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as error:
        raise DocumentError(f"invalid CSV: {error}") from None
    return "\n\n".join("\n".join(f"{k}: {v}" for k, v in row.items() if k and v) for row in rows)


def enrich(
    comprehend: Any,
    s3: Any,
    document: Document,
    text_key: str,
    *,
    redaction: RedactionMode,
    min_score: float,
    classifier_endpoint_arn: str | None = None,
) -> dict[str, Any]:
    """Language, entities and PII with Amazon Comprehend; the redacted text stays in the raw zone."""
    raw_text = _read(s3, document.bucket, text_key)
    if len(raw_text) > MAX_TEXT_BYTES:  # Textract output is only measured here
        raise DocumentError(f"{len(raw_text)} bytes of text is over the {MAX_TEXT_BYTES}-byte limit")
    text = raw_text.decode()
    pieces = split_utf8(text)
    languages = comprehend.detect_dominant_language(Text=pieces[0].text)["Languages"]
    language = max(languages, key=lambda item: item["Score"])["LanguageCode"] if languages else "und"
    if language not in PII_LANGUAGES:
        raise DocumentError(f"language {language!r} has no PII detection; refusing to pass unredacted text on")
    pii: list[Entity] = []
    entities: Counter[str] = Counter()
    for piece in pieces:
        pii.extend(
            entities_from_comprehend(
                comprehend.detect_pii_entities(Text=piece.text, LanguageCode=language), piece.offset, min_score
            )
        )
        for entity in comprehend.detect_entities(Text=piece.text, LanguageCode=language)["Entities"]:
            entities[entity["Type"]] += 1
    classes = []
    if classifier_endpoint_arn:
        classes = [
            {"name": c["Name"], "score": c["Score"]}
            for c in comprehend.classify_document(Text=pieces[0].text, EndpointArn=classifier_endpoint_arn)["Classes"]
        ]
    redacted_key = f"{document.work_prefix}redacted.txt"
    _write(s3, document.bucket, redacted_key, redact(text, pii, redaction))
    return {
        "redacted_key": redacted_key,
        "language": language,
        "pii": dict(Counter(entity.type for entity in pii)),
        "entities": dict(entities),
        "classes": classes,
        "redaction": redaction,
    }


def transform(
    s3: Any,
    dynamodb: Any,
    table: str,
    curated_bucket: str,
    document: Document,
    enriched: Mapping[str, Any],
    *,
    execution: str,
    textract_job_id: str | None = None,
    fine_tuning_chars: int = 4_000,
    retrieval_chars: int = 2_000,
) -> dict[str, Any]:
    """Normalise, drop duplicates by content hash, write fine-tuning and retrieval JSONL."""
    text = normalise(_read(s3, document.bucket, enriched["redacted_key"]).decode())
    if not text:
        raise DocumentError("no text is left after normalisation")
    fingerprint = content_hash(text)
    source = f"{document.bucket}/{document.key}"
    try:
        dynamodb.put_item(
            TableName=table,
            Item={
                "pk": {"S": f"HASH#{fingerprint}"},
                "source": {"S": source},
                "document_id": {"S": document.document_id},
            },
            ConditionExpression="attribute_not_exists(pk) OR #source = :source",
            ExpressionAttributeNames={"#source": "source"},
            ExpressionAttributeValues={":source": {"S": source}},
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
            raise
        return {"status": "duplicate", "content_hash": fingerprint}
    lineage = Lineage(
        source_bucket=document.bucket,
        source_key=document.key,
        source_version=document.version_id,
        execution=execution,
        processed_at=_now(),
        content_hash=fingerprint,
        textract_job_id=textract_job_id,
        language=enriched.get("language"),
        pii_redaction=enriched.get("redaction"),
    )
    pairs: list[dict[str, str]] = []
    try:
        pairs = json.loads(_read(s3, document.bucket, f"{document.work_prefix}pairs.json"))
    except ClientError as error:
        if error.response["Error"]["Code"] not in {"NoSuchKey", "404"}:
            raise
    keys = {
        "fine_tuning_key": f"fine-tuning/{document.dataset}/{document.document_id}.jsonl",
        "retrieval_key": f"retrieval/{document.dataset}/{document.document_id}.jsonl",
    }
    fine_tuning = fine_tuning_records(text, lineage, max_chars=fine_tuning_chars, pairs=pairs)
    retrieval = retrieval_records(
        text,
        lineage,
        document_id=document.document_id,
        metadata={
            "dataset": document.dataset,
            "language": enriched.get("language"),
            "entities": enriched.get("entities", {}),
            "classes": enriched.get("classes", []),
        },
        max_chars=retrieval_chars,
    )
    _write(s3, curated_bucket, keys["fine_tuning_key"], to_jsonl(fine_tuning), "application/x-ndjson")
    _write(s3, curated_bucket, keys["retrieval_key"], to_jsonl(retrieval), "application/x-ndjson")
    return {
        "status": "written",
        "content_hash": fingerprint,
        **keys,
        "records": {"fine_tuning": len(fine_tuning), "retrieval": len(retrieval)},
    }


def labeling_manifest(
    s3: Any, curated_bucket: str, artifacts_bucket: str, document: Document, *, labels: list[str], ui_template: str
) -> dict[str, str]:
    """The labeling inputs of one document: a manifest of its retrieval chunks, the label list, the task UI."""
    retrieval = _read(s3, curated_bucket, f"retrieval/{document.dataset}/{document.document_id}.jsonl").decode()
    manifest = "".join(
        json.dumps({"source": json.loads(line)["text"]}, ensure_ascii=False) + "\n"
        for line in retrieval.splitlines()
        if line.strip()
    )
    prefix = f"labeling/{document.document_id}/"
    _write(s3, artifacts_bucket, f"{prefix}manifest.jsonl", manifest, "application/x-ndjson")
    _write(
        s3,
        artifacts_bucket,
        f"{prefix}labels.json",
        json.dumps({"document-version": "2018-11-28", "labels": [{"label": label} for label in labels]}),
        "application/json",
    )
    _write(s3, artifacts_bucket, f"{prefix}template.liquid.html", ui_template, "text/html")
    return {
        "manifest_uri": f"s3://{artifacts_bucket}/{prefix}manifest.jsonl",
        "labels_uri": f"s3://{artifacts_bucket}/{prefix}labels.json",
        "template_uri": f"s3://{artifacts_bucket}/{prefix}template.liquid.html",
        "output_uri": f"s3://{artifacts_bucket}/{prefix}output/",
        "job_name": f"dataprep-{document.document_id[:24]}-{_now().replace(':', '').replace('-', '')[:15]}",
    }


def quarantine(
    s3: Any, bucket: str, key: str, version_id: str | None, *, reason: str, step: str, execution: str
) -> dict[str, str]:
    """Copy the document under ``quarantine/`` with a JSON error record beside it."""
    target = f"quarantine/{key}"
    source: dict[str, str] = {"Bucket": bucket, "Key": key}
    if version_id:
        source["VersionId"] = version_id
    try:
        s3.copy_object(Bucket=bucket, Key=target, CopySource=source)
    except ClientError as error:
        if error.response["Error"]["Code"] not in {"NoSuchKey", "404", "NoSuchVersion"}:
            raise
    record = {
        "source": {"bucket": bucket, "key": key, "version_id": version_id},
        "reason": reason,
        "step": step,
        "execution": execution,
        "quarantined_at": _now(),
    }
    _write(s3, bucket, f"{target}.error.json", json.dumps(record, indent=2), "application/json")
    return {"quarantine_key": target, "error_key": f"{target}.error.json"}
