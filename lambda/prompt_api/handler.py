"""Prompt catalog API: API Gateway (REST, IAM-authorized) proxy integration."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import ClientError

from prompt_catalog.api import ApiResponse, handle, request_from_event
from prompt_catalog.errors import CatalogError
from prompt_catalog.store import PromptStore

logger = Logger()
metrics = Metrics()
THROTTLING = {"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"}


@cache
def store() -> PromptStore:
    return PromptStore(boto3.client("dynamodb"), os.environ["TABLE_NAME"])


def respond(response: ApiResponse) -> dict[str, Any]:
    return {
        "statusCode": response.status,
        "headers": {"Content-Type": "application/json", "Cache-Control": "no-store"},
        "body": json.dumps(response.body, ensure_ascii=False),
    }


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        request = request_from_event(event)
        response = handle(store(), request)
    except CatalogError as error:
        response = ApiResponse(error.status, error.to_dict())
    except ClientError as error:
        code = error.response["Error"]["Code"]
        logger.exception("DynamoDB call failed", extra={"error_code": code})
        if code in THROTTLING:
            response = ApiResponse(503, {"code": "Throttled", "message": "the catalog is busy; retry with backoff"})
        else:
            response = ApiResponse(500, {"code": "InternalError", "message": "the catalog failed; see its logs"})
    except Exception:  # a bug: answer in the API's error format, never with API Gateway's 502
        logger.exception("unhandled error")
        response = ApiResponse(500, {"code": "InternalError", "message": "the catalog failed; see its logs"})
    metrics.add_metric(name=f"Status{response.status // 100}xx", unit=MetricUnit.Count, value=1)
    logger.info(
        "request",
        extra={"resource": event.get("resource"), "method": event.get("httpMethod"), "status": response.status},
    )
    return respond(response)
