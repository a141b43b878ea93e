"""Workflow steps against moto S3/DynamoDB and a stubbed Comprehend, on sample documents."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from data_prep.steps import Document, DocumentError, classify, enrich, extract_text, quarantine, transform
from tests.data_prep.conftest import CURATED, RAW, REGION, TABLE

PII_TEXT = "Jane Doe lives at 1 Main Street. Call 555-0100."


def put(s3: Any, key: str, body: bytes) -> str:
    version: str = s3.put_object(Bucket=RAW, Key=key, Body=body)["VersionId"]
    return version


def comprehend(language: str = "en", pii: list[dict[str, Any]] | None = None, pieces: int = 1) -> tuple[Any, Stubber]:
    client = boto3.client("comprehend", region_name=REGION)
    stubber = Stubber(client)
    stubber.add_response("detect_dominant_language", {"Languages": [{"LanguageCode": language, "Score": 0.99}]})
    for _ in range(pieces):
        stubber.add_response("detect_pii_entities", {"Entities": pii or []})
        stubber.add_response(
            "detect_entities",
            {"Entities": [{"Type": "PERSON", "Text": "Jane", "Score": 0.9, "BeginOffset": 0, "EndOffset": 4}]},
        )
    stubber.activate()
    return client, stubber


def test_routes_by_type_and_tells_versions_apart(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    v1 = put(s3, "incoming/manuals/guide.pdf", b"%PDF-1.7 ...")
    v2 = put(s3, "incoming/manuals/guide.pdf", b"%PDF-1.7 changed")
    first, second = (
        classify(s3, RAW, "incoming/manuals/guide.pdf", v1),
        classify(s3, RAW, "incoming/manuals/guide.pdf", v2),
    )
    assert (first.route, first.dataset) == ("textract", "manuals")
    assert first.document_id == second.document_id  # records of the source are replaced by its new version
    assert first.version_token != second.version_token
    assert first.work_prefix != second.work_prefix
    put(s3, "incoming/faq/a.txt", b"hello")
    assert classify(s3, RAW, "incoming/faq/a.txt", None).route == "text"


@pytest.mark.parametrize(
    ("key", "body", "message"),
    [
        ("incoming/faq/empty.txt", b"", "the document is empty"),
        ("incoming/faq/movie.mp4", b"\x00\x01", "unsupported document type '.mp4'"),
        ("elsewhere/a.txt", b"x", "is not under incoming/<dataset>/"),
    ],
)
def test_documents_that_cannot_be_processed(aws: dict[str, Any], key: str, body: bytes, message: str) -> None:
    put(aws["s3"], key, body)
    with pytest.raises(DocumentError, match=message):
        classify(aws["s3"], RAW, key, None)


def test_corrupt_text_is_a_document_error(aws: dict[str, Any]) -> None:
    put(aws["s3"], "incoming/faq/bad.txt", b"\xff\xfe\xfa broken")
    document = classify(aws["s3"], RAW, "incoming/faq/bad.txt", None)
    with pytest.raises(DocumentError, match="not UTF-8 text"):
        extract_text(aws["s3"], document)


def test_json_pairs_and_csv_rows_become_text(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    put(s3, "incoming/qa/pairs.json", json.dumps([{"instruction": "Say hi", "response": "Hi"}]).encode())
    document = classify(s3, RAW, "incoming/qa/pairs.json", None)
    assert extract_text(s3, document)["pairs"] == 1
    put(s3, "incoming/qa/rows.csv", b"question,answer\nWhat?,That.\n")
    rows = classify(s3, RAW, "incoming/qa/rows.csv", None)
    text_key = extract_text(s3, rows)["text_key"]
    assert s3.get_object(Bucket=RAW, Key=text_key)["Body"].read() == b"question: What?\nanswer: That."


def run_to_curated(
    aws: dict[str, Any], key: str, body: bytes, *, pii: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    s3 = aws["s3"]
    version = put(s3, key, body)
    document = classify(s3, RAW, key, version)
    extracted = extract_text(s3, document)
    client, stubber = comprehend(pii=pii)
    enriched = enrich(client, s3, document, extracted["text_key"], redaction="mask", min_score=0.5)
    stubber.assert_no_pending_responses()
    return transform(s3, aws["dynamodb"], TABLE, CURATED, document, enriched, execution="arn:exec:1")


def curated_lines(s3: Any, key: str) -> list[dict[str, Any]]:
    body = s3.get_object(Bucket=CURATED, Key=key)["Body"].read().decode()
    return [json.loads(line) for line in body.splitlines()]


def test_a_text_file_ends_as_curated_records_with_lineage_and_pii_masked(aws: dict[str, Any]) -> None:
    pii = [
        {"Type": "NAME", "BeginOffset": 0, "EndOffset": 8, "Score": 0.99},
        {"Type": "PHONE", "BeginOffset": 38, "EndOffset": 46, "Score": 0.99},
    ]
    result = run_to_curated(aws, "incoming/hr/note.txt", PII_TEXT.encode(), pii=pii)
    assert result["status"] == "written"
    [record] = curated_lines(aws["s3"], result["retrieval_key"])
    assert record["text"] == "[NAME] lives at 1 Main Street. Call [PHONE]."
    assert record["lineage"]["source_key"] == "incoming/hr/note.txt"
    assert record["lineage"]["pii_redaction"] == "mask"
    assert record["metadata"]["entities"] == {"PERSON": 1}
    [training] = curated_lines(aws["s3"], result["fine_tuning_key"])
    assert "Jane" not in json.dumps(training)


def test_rerunning_a_document_rewrites_the_same_records(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    first = run_to_curated(aws, "incoming/hr/note.txt", b"Plain text.")
    document = classify(s3, RAW, "incoming/hr/note.txt", None)
    client, _ = comprehend()
    enriched = enrich(client, s3, document, extract_text(s3, document)["text_key"], redaction="mask", min_score=0.5)
    again = transform(s3, aws["dynamodb"], TABLE, CURATED, document, enriched, execution="arn:exec:2")
    assert again["status"] == "written" and again["retrieval_key"] == first["retrieval_key"]
    listed = s3.list_objects_v2(Bucket=CURATED, Prefix="retrieval/")["Contents"]
    assert len(listed) == 1


def test_the_same_content_from_another_source_is_a_duplicate(aws: dict[str, Any]) -> None:
    assert run_to_curated(aws, "incoming/a/one.txt", b"Same   words.")["status"] == "written"
    assert run_to_curated(aws, "incoming/b/two.txt", b"Same words.")["status"] == "duplicate"


def test_text_in_a_language_without_pii_detection_is_refused(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    put(s3, "incoming/fr/a.txt", "Bonjour à tous".encode())
    document = classify(s3, RAW, "incoming/fr/a.txt", None)
    client, _ = comprehend(language="fr")
    with pytest.raises(DocumentError, match="language 'fr' has no PII detection"):
        enrich(client, s3, document, extract_text(s3, document)["text_key"], redaction="mask", min_score=0.5)


def test_quarantine_keeps_the_document_and_the_reason(aws: dict[str, Any]) -> None:
    s3 = aws["s3"]
    version = put(s3, "incoming/faq/bad.txt", b"\xff")
    result = quarantine(
        s3, RAW, "incoming/faq/bad.txt", version, reason="not UTF-8 text", step="ExtractText", execution="arn:exec:3"
    )
    assert s3.get_object(Bucket=RAW, Key=result["quarantine_key"])["Body"].read() == b"\xff"
    record = json.loads(s3.get_object(Bucket=RAW, Key=result["error_key"])["Body"].read())
    assert (record["reason"], record["step"], record["execution"]) == ("not UTF-8 text", "ExtractText", "arn:exec:3")
    assert record["source"]["version_id"] == version


def test_document_round_trips_through_the_state_machine_payload(aws: dict[str, Any]) -> None:
    put(aws["s3"], "incoming/faq/a.txt", b"x")
    document = classify(aws["s3"], RAW, "incoming/faq/a.txt", None)
    assert Document.from_dict(json.loads(json.dumps(document.__dict__))) == document


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.one_of(st.binary(max_size=300), st.text(max_size=200).map(str.encode), st.just(b'[{"a": 1}, "x"]')),
    suffix=st.sampled_from([".txt", ".json", ".jsonl", ".csv", ".md", ".pdf", ".bin", ""]),
)
def test_any_document_becomes_text_or_a_document_error(aws: dict[str, Any], body: bytes, suffix: str) -> None:
    key = f"incoming/fuzz/doc{suffix}"
    put(aws["s3"], key, body)
    try:
        document = classify(aws["s3"], RAW, key, None)
        if document.route == "text":
            text_key = extract_text(aws["s3"], document)["text_key"]
            assert aws["s3"].get_object(Bucket=RAW, Key=text_key)["Body"].read().strip()
    except DocumentError as error:
        assert str(error)


def test_a_new_version_replaces_its_sources_records(aws: dict[str, Any]) -> None:
    first = run_to_curated(aws, "incoming/faq/policy.txt", b"Refunds within 14 days.")
    second = run_to_curated(aws, "incoming/faq/policy.txt", b"Refunds within 30 days.")
    assert first["retrieval_key"] == second["retrieval_key"]
    [record] = curated_lines(aws["s3"], second["retrieval_key"])
    assert record["text"] == "Refunds within 30 days."


def test_text_too_large_for_synchronous_comprehend_is_refused(aws: dict[str, Any]) -> None:
    put(aws["s3"], "incoming/big/a.txt", b"word " * (1024 * 1024 + 1))
    with pytest.raises(DocumentError, match="bytes of text is over the 5242880-byte limit"):
        classify(aws["s3"], RAW, "incoming/big/a.txt", None)
