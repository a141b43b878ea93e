"""Textract completion notifications (SNS) resume the data-preparation workflow."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from data_prep.textract_jobs import complete_job

logger = Logger()


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> None:
    clients = {service: boto3.client(service) for service in ("textract", "s3", "stepfunctions", "dynamodb")}
    for record in event["Records"]:
        message = json.loads(record["Sns"]["Message"])
        job_id = complete_job(
            clients["textract"],
            clients["s3"],
            clients["stepfunctions"],
            clients["dynamodb"],
            os.environ["TABLE_NAME"],
            message,
        )
        logger.info("textract job completed", extra={"job_id": job_id, "status": message.get("Status")})
