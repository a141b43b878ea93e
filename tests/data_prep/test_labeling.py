"""Ground Truth Lambdas on Ground Truth's documented event formats."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from data_prep.labeling import manifest_to_records, post_annotation, pre_annotation

REGION = "eu-west-1"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket="labels", CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def annotation(worker: str, content: dict[str, Any]) -> dict[str, Any]:
    return {"workerId": worker, "annotationData": {"content": json.dumps(content)}}


def post_event(s3: Any, objects: list[dict[str, Any]]) -> dict[str, Any]:
    s3.put_object(Bucket="labels", Key="consolidation/payload.json", Body=json.dumps(objects).encode())
    return {
        "version": "2018-10-16",
        "labelingJobArn": "arn:aws:sagemaker:eu-west-1:123456789012:labeling-job/job",
        "labelCategories": ["billing", "bug"],
        "labelAttributeName": "category",
        "roleArn": "arn:aws:iam::123456789012:role/gt",
        "payload": {"s3Uri": "s3://labels/consolidation/payload.json"},
        "outputConfig": "s3://labels/output/",
    }


def test_pre_annotation_passes_inline_and_referenced_text(s3: Any) -> None:
    inline = {"version": "2018-10-16", "labelingJobArn": "arn", "dataObject": {"source": "My card was charged twice"}}
    assert pre_annotation(inline, ["billing", "bug"]) == {
        "taskInput": {"taskObject": "My card was charged twice", "labels": ["billing", "bug"]},
        "isHumanAnnotationRequired": "true",
    }
    s3.put_object(Bucket="labels", Key="docs/a.txt", Body=b"From S3")
    referenced = {
        "version": "2018-10-16",
        "labelingJobArn": "arn",
        "dataObject": {"source-ref": "s3://labels/docs/a.txt"},
    }
    assert pre_annotation(referenced, [], s3)["taskInput"]["taskObject"] == "From S3"


def test_classification_takes_the_majority(s3: Any) -> None:
    objects = [
        {
            "datasetObjectId": "0",
            "dataObject": {"content": "x"},
            "annotations": [
                annotation("w1", {"category": {"label": "bug"}}),
                annotation("w2", {"category": {"label": "billing"}}),
                annotation("w3", {"category": {"label": "bug"}}),
            ],
        }
    ]
    [result] = post_annotation(post_event(s3, objects), s3, task="text-classification", labels=["billing", "bug"])
    assert result["datasetObjectId"] == "0"
    consolidated = result["consolidatedAnnotation"]["content"]["category"]
    assert (consolidated["label"], consolidated["votes"], consolidated["workers"]) == (
        "bug",
        {"bug": 2, "billing": 1},
        3,
    )


def test_entities_keep_only_spans_a_majority_marked(s3: Any) -> None:
    agreed = {"startOffset": 0, "endOffset": 4, "label": "person"}
    objects = [
        {
            "datasetObjectId": "1",
            "annotations": [
                annotation(
                    "w1",
                    {
                        "crowd-entity-annotation": {
                            "entities": [agreed, {"startOffset": 5, "endOffset": 8, "label": "org"}]
                        }
                    },
                ),
                annotation("w2", {"crowd-entity-annotation": {"entities": [agreed]}}),
                annotation("w3", {"crowd-entity-annotation": {"entities": []}}),
            ],
        }
    ]
    [result] = post_annotation(post_event(s3, objects), s3, task="named-entity-recognition", labels=[])
    assert result["consolidatedAnnotation"]["content"]["category"]["entities"] == [agreed]


def test_output_manifest_becomes_training_records() -> None:
    manifest = "\n".join(
        [
            json.dumps({"source": "Refund please", "category": {"label": "billing"}}),
            json.dumps({"source": "Unlabelled", "category": {"label": None}}),
        ]
    )
    assert manifest_to_records(manifest, "category", "text-classification") == [
        {"instruction": "Classify the text.", "input": "Refund please", "response": "billing"}
    ]
    ner = json.dumps(
        {"source": "Jane at ACME", "ents": {"entities": [{"startOffset": 0, "endOffset": 4, "label": "person"}]}}
    )
    [record] = manifest_to_records(ner, "ents", "named-entity-recognition")
    assert json.loads(record["response"]) == [{"text": "Jane", "label": "person"}]
