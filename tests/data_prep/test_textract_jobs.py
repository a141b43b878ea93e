"""Textract jobs: started with the task token stored, completed by the SNS message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from data_prep.steps import Document
from data_prep.textract_jobs import complete_job, start_job
from tests.data_prep.conftest import RAW, REGION, TABLE

BLOCKS = json.loads((Path(__file__).parent / "fixtures" / "textract_two_column_two_pages.json").read_text())["Blocks"]
TOPIC = "arn:aws:sns:eu-west-1:123456789012:textract"
ROLE = "arn:aws:iam::123456789012:role/textract"
DOCUMENT = Document(RAW, "incoming/reports/q3.pdf", "v1", 1234, "reports", "d" * 32, "textract")


def stubbed(service: str) -> tuple[Any, Stubber]:
    client = boto3.client(service, region_name=REGION)
    stubber = Stubber(client)
    stubber.activate()
    return client, stubber


def start(aws: dict[str, Any], mode: str = "text") -> str:
    textract, stubber = stubbed("textract")
    operation = "start_document_analysis" if mode == "analysis" else "start_document_text_detection"
    expected = {
        "DocumentLocation": {"S3Object": {"Bucket": RAW, "Name": DOCUMENT.key, "Version": "v1"}},
        "NotificationChannel": {"SNSTopicArn": TOPIC, "RoleArn": ROLE},
        "JobTag": DOCUMENT.version_token,
        "ClientRequestToken": DOCUMENT.version_token,
    }
    if mode == "analysis":
        expected["FeatureTypes"] = ["TABLES", "FORMS"]
    stubber.add_response(operation, {"JobId": "job-1"}, expected)
    job = start_job(textract, aws["dynamodb"], TABLE, DOCUMENT, "token-1", mode=mode, topic_arn=TOPIC, role_arn=ROLE)
    stubber.assert_no_pending_responses()
    return job


@pytest.mark.parametrize("mode", ["text", "analysis"])
def test_start_stores_the_task_token_under_the_job(aws: dict[str, Any], mode: str) -> None:
    assert start(aws, mode) == "job-1"
    item = aws["dynamodb"].get_item(TableName=TABLE, Key={"pk": {"S": "JOB#job-1"}})["Item"]
    assert item["task_token"]["S"] == "token-1" and item["mode"]["S"] == mode


def test_success_assembles_every_result_page_and_resumes_the_workflow(aws: dict[str, Any]) -> None:
    start(aws)
    textract, textract_stub = stubbed("textract")
    textract_stub.add_response(
        "get_document_text_detection",
        {"Blocks": BLOCKS[:5], "NextToken": "next"},
        {"JobId": "job-1", "MaxResults": 1000},
    )
    textract_stub.add_response(
        "get_document_text_detection",
        {"Blocks": BLOCKS[5:]},
        {"JobId": "job-1", "MaxResults": 1000, "NextToken": "next"},
    )
    sfn, sfn_stub = stubbed("stepfunctions")
    sfn_stub.add_response("send_task_success", {}, {"taskToken": "token-1", "output": ANY})
    complete_job(textract, aws["s3"], sfn, aws["dynamodb"], TABLE, {"JobId": "job-1", "Status": "SUCCEEDED"})
    sfn_stub.assert_no_pending_responses()
    text = aws["s3"].get_object(Bucket=RAW, Key=f"{DOCUMENT.work_prefix}text.txt")["Body"].read().decode()
    assert text.startswith("Quarterly report\nLeft column first line")
    assert "JOB#job-1" not in json.dumps(aws["dynamodb"].scan(TableName=TABLE)["Items"])


def test_a_failed_job_fails_the_task_with_textracts_status(aws: dict[str, Any]) -> None:
    start(aws)
    sfn, sfn_stub = stubbed("stepfunctions")
    sfn_stub.add_response(
        "send_task_failure",
        {},
        {"taskToken": "token-1", "error": "TextractFailed", "cause": "Textract job job-1 ended FAILED"},
    )
    complete_job(None, aws["s3"], sfn, aws["dynamodb"], TABLE, {"JobId": "job-1", "Status": "FAILED"})
    sfn_stub.assert_no_pending_responses()


def test_an_unknown_job_is_ignored(aws: dict[str, Any]) -> None:
    assert (
        complete_job(None, aws["s3"], None, aws["dynamodb"], TABLE, {"JobId": "other", "Status": "SUCCEEDED"})
        == "other"
    )
