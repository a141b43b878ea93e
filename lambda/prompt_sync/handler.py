"""Prompts as code: a CloudFormation custom resource that syncs prompts into the catalog.

Create and Update register every prompt and move the environment's alias; Delete leaves the
catalog as it is (versions are never deleted). CloudFormation always gets an answer, so a
failure rolls the deployment back instead of hanging it.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

import boto3
from aws_lambda_powertools import Logger

from prompt_catalog.store import PromptStore
from prompt_catalog.sync import parse_prompt_definitions, sync_prompts

logger = Logger()
PHYSICAL_ID = "prompts-as-code"


def send_response(event: dict[str, Any], status: str, reason: str, data: dict[str, Any]) -> None:
    body = json.dumps(
        {
            "Status": status,
            "Reason": reason[:3000],
            "PhysicalResourceId": PHYSICAL_ID,
            "StackId": event["StackId"],
            "RequestId": event["RequestId"],
            "LogicalResourceId": event["LogicalResourceId"],
            "Data": data,
        }
    ).encode()
    request = urllib.request.Request(
        event["ResponseURL"], data=body, method="PUT", headers={"Content-Type": "", "Content-Length": str(len(body))}
    )
    with urllib.request.urlopen(request, timeout=30):
        pass


def sync(event: dict[str, Any], client: Any) -> dict[str, Any]:
    if event["RequestType"] == "Delete":
        return {"Synced": 0}
    properties = event["ResourceProperties"]
    prompts = parse_prompt_definitions(json.loads(properties["Prompts"]))
    store = PromptStore(client, os.environ["TABLE_NAME"])
    results = sync_prompts(store, prompts, properties["Alias"])
    logger.info("synced prompts", extra={"prompts": [result.to_dict() for result in results]})
    return {"Synced": len(results), "Created": sum(result.created for result in results)}


@logger.inject_lambda_context(clear_state=True)
def handler(event: dict[str, Any], context: Any) -> None:
    try:
        data = sync(event, boto3.client("dynamodb"))
    except Exception as error:  # every failure must reach CloudFormation
        logger.exception("prompt sync failed")
        send_response(event, "FAILED", f"{type(error).__name__}: {error}", {})
        return
    send_response(event, "SUCCESS", "prompts synced", data)
