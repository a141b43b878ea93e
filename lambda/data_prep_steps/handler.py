"""The data-preparation state machine's Lambda steps; ``event["step"]`` names the step.

A document that cannot be processed raises ``DocumentError``, which the state machine routes
to the quarantine step; anything else is retried first.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from data_prep.labeling import manifest_to_records
from data_prep.records import to_jsonl
from data_prep.steps import (
    Document,
    DocumentError,
    classify,
    enrich,
    extract_text,
    labeling_manifest,
    quarantine,
    transform,
)
from data_prep.textract_jobs import start_job

logger = Logger()


@cache
def client(service: str) -> Any:
    return boto3.client(service)


def _document(event: dict[str, Any]) -> Document:
    return Document.from_dict(event["document"])


def _cause(cause: str) -> str:
    """A failed Lambda task's cause is its error JSON; keep the message."""
    parsed: Any = cause
    for _ in range(2):  # the payload may arrive as JSON, or as JSON inside a JSON string
        if not isinstance(parsed, str):
            break
        try:
            parsed = json.loads(parsed)
        except ValueError:
            return cause
    return str(parsed.get("errorMessage", cause)) if isinstance(parsed, dict) else cause


def run_step(event: dict[str, Any]) -> Any:
    step = event["step"]
    env = os.environ
    if step == "classify":
        return classify(client("s3"), event["bucket"], event["key"], event.get("version_id")).__dict__
    if step == "extract_text":
        return extract_text(client("s3"), _document(event))
    if step == "textract_start":
        return {
            "job_id": start_job(
                client("textract"),
                client("dynamodb"),
                env["TABLE_NAME"],
                _document(event),
                event["task_token"],
                mode=env["TEXTRACT_MODE"],
                topic_arn=env["TEXTRACT_TOPIC_ARN"],
                role_arn=env["TEXTRACT_ROLE_ARN"],
            )
        }
    if step == "enrich":
        return enrich(
            client("comprehend"),
            client("s3"),
            _document(event),
            event["text_key"],
            redaction=env["PII_REDACTION"],  # type: ignore[arg-type]
            min_score=float(env["PII_MIN_SCORE"]),
            classifier_endpoint_arn=env.get("CLASSIFIER_ENDPOINT_ARN") or None,
        )
    if step == "transform":
        return transform(
            client("s3"),
            client("dynamodb"),
            env["TABLE_NAME"],
            env["CURATED_BUCKET"],
            _document(event),
            event["enriched"],
            execution=event["execution"],
            textract_job_id=event.get("textract_job_id"),
        )
    if step == "quarantine":
        source, error = event["source"], event.get("error") or {}
        return quarantine(
            client("s3"),
            source["bucket"],
            source["key"],
            source.get("version_id"),
            reason=f"{error.get('Error', 'Unknown')}: {_cause(error.get('Cause', ''))}"[:4000],
            step=event.get("failed_step", "unknown"),
            execution=event["execution"],
        )
    if step == "labeling_manifest":
        task = env["LABELING_TASK"]
        template = (Path(__file__).parent / "templates" / f"{task}.liquid.html").read_text()
        return labeling_manifest(
            client("s3"),
            env["CURATED_BUCKET"],
            env["ARTIFACTS_BUCKET"],
            _document(event),
            labels=json.loads(env["LABELS"]),
            ui_template=template,
        )
    if step == "labels_to_records":
        bucket, _, key = event["manifest_uri"].removeprefix("s3://").partition("/")
        manifest = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read().decode()
        records = manifest_to_records(manifest, event["attribute"], env["LABELING_TASK"])
        target = f"fine-tuning/labeled/{event['document_id']}.jsonl"
        client("s3").put_object(Bucket=env["CURATED_BUCKET"], Key=target, Body=to_jsonl(records).encode())
        return {"records": len(records), "key": target}
    raise ValueError(f"unknown step {step!r}")


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> Any:
    logger.append_keys(step=event.get("step"), execution=event.get("execution"))
    try:
        result = run_step(event)
    except DocumentError as error:
        logger.warning("document cannot be processed", extra={"reason": str(error)})
        raise
    logger.info("step done", extra={"result": json.dumps(result, default=str)[:1000]})
    return result
