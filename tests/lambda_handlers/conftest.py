"""Lambda handlers are loaded from their asset folders by path (``lambda`` is not a package)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.conftest import REPO_ROOT
from tests.prompt_catalog.conftest import REGION, TABLE, create_table

# Handlers configure Powertools when they are imported, which is at test collection.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "test")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "LlmOpsTest")


def load_handler(function: str) -> ModuleType:
    """``lambda/<function>/handler.py`` as module ``lambda_<function>_handler``."""
    path = REPO_ROOT / "lambda" / function / "handler.py"
    name = f"lambda_{function}_handler"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class LambdaContext:
    function_name = "test"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:test"
    aws_request_id = "request-1"


@pytest.fixture
def catalog_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "TABLE_NAME": TABLE,
        "POWERTOOLS_SERVICE_NAME": "test",
        "POWERTOOLS_METRICS_NAMESPACE": "LlmOpsTest",
    }.items():
        monkeypatch.setenv(key, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


def api_event(
    method: str,
    resource: str,
    *,
    path: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    caller: str = "arn:aws:iam::123456789012:user/alice",
) -> dict[str, Any]:
    return {
        "httpMethod": method,
        "resource": resource,
        "path": resource,
        "pathParameters": path,
        "queryStringParameters": query,
        "body": body if body is None or isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
        "requestContext": {"identity": {"userArn": caller}, "requestId": "r-1"},
    }
