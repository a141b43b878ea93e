"""A moto DynamoDB table shaped like the catalog stack's, and sample content."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from prompt_catalog.model import PromptContent, parse_content
from prompt_catalog.store import LIST_INDEX, PromptStore

TABLE = "prompt-catalog-test"
REGION = "eu-west-1"


def create_table(client: Any, name: str = TABLE) -> None:
    """The key schema of ``llmops_constructs.prompt_catalog.PromptCatalogTable``."""
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
            {"AttributeName": "item_type", "AttributeType": "S"},
            {"AttributeName": "name", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": LIST_INDEX,
                "KeySchema": [
                    {"AttributeName": "item_type", "KeyType": "HASH"},
                    {"AttributeName": "name", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def dynamodb(aws_env: None) -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


@pytest.fixture
def store(dynamodb: Any) -> PromptStore:
    return PromptStore(dynamodb, TABLE, sleep=lambda _: None)


def content(template: str = "Classify: {{ text }}", **extra: Any) -> PromptContent:
    raw: dict[str, Any] = {
        "kind": "zero-shot",
        "template": template,
        "variables": [{"name": "text", "type": "string"}],
        **extra,
    }
    return parse_content(raw)
