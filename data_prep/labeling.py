"""SageMaker Ground Truth: pre-annotation and annotation-consolidation logic, and labels to records.

Event and response formats are Ground Truth's documented ones for custom labeling workflows:
the pre-annotation Lambda turns a manifest line (``dataObject``) into the task's input; the
post-annotation Lambda reads every worker's answers from ``payload.s3Uri`` and returns one
consolidated annotation per data object. Text classification takes the majority label (ties:
the label listed first); named-entity recognition keeps the spans a majority of workers
marked identically.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any


def pre_annotation(event: Mapping[str, Any], labels: Sequence[str], s3: Any | None = None) -> dict[str, Any]:
    data = event["dataObject"]
    if "source" in data:
        text = data["source"]
    else:
        bucket, _, key = data["source-ref"].removeprefix("s3://").partition("/")
        if s3 is None:
            raise ValueError("a source-ref data object needs an S3 client")
        text = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    return {"taskInput": {"taskObject": text, "labels": list(labels)}, "isHumanAnnotationRequired": "true"}


def _answers(annotation: Mapping[str, Any]) -> Any:
    content = annotation.get("annotationData", {}).get("content", "{}")
    return json.loads(content) if isinstance(content, str) else content


def consolidate_classification(annotations: Sequence[Mapping[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    votes: Counter[str] = Counter()
    for annotation in annotations:
        label = _answers(annotation).get("category", {}).get("label")
        if label in labels:
            votes[label] += 1
    if not votes:
        return {"label": None, "votes": {}, "confidence": 0.0}
    best = max(votes.values())
    label = next(label for label in labels if votes.get(label) == best)
    return {"label": label, "votes": dict(votes), "confidence": best / len(annotations)}


def consolidate_entities(annotations: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    spans: Counter[tuple[int, int, str]] = Counter()
    for annotation in annotations:
        marked = _answers(annotation).get("crowd-entity-annotation", {}).get("entities", [])
        spans.update({(e["startOffset"], e["endOffset"], e["label"]) for e in marked})
    needed = len(annotations) // 2 + 1
    kept = sorted(span for span, count in spans.items() if count >= needed)
    return {"entities": [{"startOffset": s, "endOffset": e, "label": label} for s, e, label in kept]}


def post_annotation(event: Mapping[str, Any], s3: Any, *, task: str, labels: Sequence[str]) -> list[dict[str, Any]]:
    bucket, _, key = event["payload"]["s3Uri"].removeprefix("s3://").partition("/")
    objects = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    attribute = event["labelAttributeName"]
    results = []
    for item in objects:
        annotations = item.get("annotations", [])
        consolidated = (
            consolidate_classification(annotations, labels)
            if task == "text-classification"
            else consolidate_entities(annotations)
        )
        results.append(
            {
                "datasetObjectId": item["datasetObjectId"],
                "consolidatedAnnotation": {"content": {attribute: {**consolidated, "workers": len(annotations)}}},
            }
        )
    return results


def manifest_to_records(manifest: str, attribute: str, task: str) -> list[dict[str, Any]]:
    """Ground Truth's output manifest (JSON lines) as fine-tuning records."""
    records = []
    for line in manifest.splitlines():
        if not line.strip():
            continue
        item = json.loads(line)
        text, label = item.get("source"), item.get(attribute, {})
        if not text:
            continue
        if task == "text-classification" and label.get("label"):
            records.append({"instruction": "Classify the text.", "input": text, "response": label["label"]})
        elif task == "named-entity-recognition":
            entities = [
                {"text": text[e["startOffset"] : e["endOffset"]], "label": e["label"]}
                for e in label.get("entities", [])
            ]
            records.append(
                {
                    "instruction": "Extract the named entities as JSON.",
                    "input": text,
                    "response": json.dumps(entities, ensure_ascii=False),
                }
            )
    return records
