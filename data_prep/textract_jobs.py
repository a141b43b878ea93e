"""Amazon Textract's asynchronous jobs, paused on a Step Functions task token.

``start_job`` starts text detection (or document analysis for forms and tables) with an SNS
completion notification and stores the workflow's task token under the job id. When Textract
publishes the job's status, ``complete_job`` collects every result page, writes the text in
reading order to the raw zone, and resumes the workflow with ``SendTaskSuccess`` (or
``SendTaskFailure`` with Textract's reason).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from data_prep.steps import Document
from data_prep.textract_blocks import assemble_text, page_count

TOKEN_TTL_SECONDS = 7 * 24 * 3600


def start_job(
    textract: Any,
    dynamodb: Any,
    table: str,
    document: Document,
    task_token: str,
    *,
    mode: str,
    topic_arn: str,
    role_arn: str,
) -> str:
    location = {"S3Object": {"Bucket": document.bucket, "Name": document.key}}
    if document.version_id:
        location["S3Object"]["Version"] = document.version_id
    common = {
        "DocumentLocation": location,
        "NotificationChannel": {"SNSTopicArn": topic_arn, "RoleArn": role_arn},
        "JobTag": document.version_token,
        "ClientRequestToken": document.version_token,  # a re-run of the same version reuses the job
    }
    if mode == "analysis":
        job_id: str = textract.start_document_analysis(FeatureTypes=["TABLES", "FORMS"], **common)["JobId"]
    else:
        job_id = textract.start_document_text_detection(**common)["JobId"]
    dynamodb.put_item(
        TableName=table,
        Item={
            "pk": {"S": f"JOB#{job_id}"},
            "task_token": {"S": task_token},
            "document": {"S": json.dumps(document.__dict__)},
            "mode": {"S": mode},
            "expires_at": {"N": str(int(time.time()) + TOKEN_TTL_SECONDS)},
        },
    )
    return job_id


def _blocks(textract: Any, job_id: str, mode: str) -> list[Mapping[str, Any]]:
    get = textract.get_document_analysis if mode == "analysis" else textract.get_document_text_detection
    blocks: list[Mapping[str, Any]] = []
    token = None
    while True:
        page = get(JobId=job_id, MaxResults=1000, **({"NextToken": token} if token else {}))
        blocks.extend(page.get("Blocks", []))
        token = page.get("NextToken")
        if not token:
            return blocks


def complete_job(textract: Any, s3: Any, sfn: Any, dynamodb: Any, table: str, notification: Mapping[str, Any]) -> str:
    """Handle one Textract completion message; returns the job id. Unknown jobs are ignored."""
    job_id, status = notification["JobId"], notification["Status"]
    item = dynamodb.get_item(TableName=table, Key={"pk": {"S": f"JOB#{job_id}"}}, ConsistentRead=True).get("Item")
    if item is None:
        return job_id
    token, mode = item["task_token"]["S"], item["mode"]["S"]
    document = Document.from_dict(json.loads(item["document"]["S"]))
    if status != "SUCCEEDED":
        sfn.send_task_failure(taskToken=token, error="TextractFailed", cause=f"Textract job {job_id} ended {status}")
    else:
        blocks = _blocks(textract, job_id, mode)
        text = assemble_text(blocks)
        if not text.strip():
            sfn.send_task_failure(taskToken=token, error="DocumentError", cause="Textract found no text")
        else:
            text_key = f"{document.work_prefix}text.txt"
            s3.put_object(
                Bucket=document.bucket, Key=text_key, Body=text.encode(), ContentType="text/plain; charset=utf-8"
            )
            sfn.send_task_success(
                taskToken=token,
                output=json.dumps({"text_key": text_key, "textract_job_id": job_id, "pages": page_count(blocks)}),
            )
    dynamodb.delete_item(TableName=table, Key={"pk": {"S": f"JOB#{job_id}"}})
    return job_id
