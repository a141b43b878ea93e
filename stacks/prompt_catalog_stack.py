"""The prompt catalog: versioned prompts in DynamoDB, a SigV4 API, and prompts as code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aws_cdk import CfnOutput, CustomResource, Duration, Stack
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge
from llmops_constructs.iam_rest_api import IamRestApi
from llmops_constructs.platform_key import PlatformKey
from llmops_constructs.prompt_catalog_table import PromptCatalogTable
from llmops_constructs.secure_function import LAMBDA_ROOT, FunctionPlatform, SecureFunction
from prompt_catalog.api import ROUTES as API_ROUTES
from stacks.config import EnvironmentConfig

PROMPT_CATALOG_PACKAGE = Path(__file__).resolve().parent.parent / "prompt_catalog"

CONTENT_SCHEMA = {"type": "object"}
# API Gateway checks these before the function runs; the function validates everything again.
ROUTE_OPTIONS: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/prompts"): {"query": ("limit", "next_token")},
    ("POST", "/prompts/{name}/versions"): {
        "body": {
            "type": "object",
            "required": ["content"],
            "properties": {"content": CONTENT_SCHEMA},
            "additionalProperties": False,
        }
    },
    ("GET", "/prompts/{name}/versions"): {"query": ("limit", "next_token")},
    ("PUT", "/prompts/{name}/aliases/{alias}"): {
        "body": {
            "type": "object",
            "required": ["version"],
            "properties": {
                "version": {"type": "integer", "minimum": 1},
                "expected_version": {"type": "integer", "minimum": 0},
            },
            "additionalProperties": False,
        }
    },
    ("POST", "/prompts/{name}/render"): {
        "body": {
            "type": "object",
            "properties": {
                "version": {"type": "integer", "minimum": 1},
                "alias": {"type": "string"},
                "variables": {"type": "object"},
                "output": {"type": "string"},
            },
            "additionalProperties": False,
        }
    },
    ("GET", "/prompts/{name}/diff"): {"query": ("from", "to")},
}


class PromptCatalogStack(Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        functions: FunctionPlatform,
        prompt_definitions: list[dict[str, object]],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        retain = config.retains_data
        catalog_key = PlatformKey(self, "CatalogKey", description="Encrypts the prompt catalog", retain=retain).key
        self.table = PromptCatalogTable(self, "Catalog", encryption_key=catalog_key, retain=retain)
        table_id = self.resolve(self.get_logical_id(self.table.table.node.default_child))  # type: ignore[arg-type]

        def function(
            construct_id: str, folder: str, description: str, timeout: Duration, concurrency: int
        ) -> SecureFunction:
            fn = SecureFunction(
                self,
                construct_id,
                code_dir=LAMBDA_ROOT / folder,
                description=description,
                platform=functions,
                memory_size=512,
                timeout=timeout,
                reserved_concurrency=concurrency,
                environment={"TABLE_NAME": self.table.table.table_name},
                shared_packages=[PROMPT_CATALOG_PACKAGE],
            )
            self.table.grant_read_write(fn.role)
            acknowledge(
                fn.role,
                f"AwsSolutions::AwsSolutions-IAM5[Resource::<{table_id}.Arn>/index/*]",
                "Listing prompts queries the catalog table's own by-type index; the grant names that table only",
            )
            return fn

        # The API's concurrency follows the stage's burst limit; CloudFormation calls the sync one at a time.
        api_concurrency = max(2, min(50, config.prompt_catalog.throttle_burst_limit))
        self.api_function = function(
            "ApiFunction", "prompt_api", "Prompt catalog API (API Gateway proxy)", Duration.seconds(15), api_concurrency
        )
        self.sync_function = function(
            "SyncFunction", "prompt_sync", "Syncs prompts/*.yaml into the catalog at deploy", Duration.minutes(5), 1
        )

        self.api = IamRestApi(
            self,
            "Api",
            description="LLMOps prompt catalog (IAM-authorized)",
            function=self.api_function.function,
            log_key=functions.encryption_key,
            log_retention=functions.log_retention,
            throttle_rate_limit=config.prompt_catalog.throttle_rate_limit,
            throttle_burst_limit=config.prompt_catalog.throttle_burst_limit,
            retain=retain,
        )
        for method, path in API_ROUTES:
            options = ROUTE_OPTIONS.get((method, path), {})
            self.api.route(method, path, body_schema=options.get("body"), query=options.get("query", ()))

        self.prompt_sync = CustomResource(
            self,
            "PromptSync",
            service_token=self.sync_function.function.function_arn,
            resource_type="Custom::PromptSync",
            properties={
                "Prompts": json.dumps(prompt_definitions, sort_keys=True),
                "Alias": config.prompt_alias,
            },
        )
        CfnOutput(self, "ApiUrl", value=self.api.api.url, description="Base URL of the prompt catalog API")
        CfnOutput(self, "TableName", value=self.table.table.table_name)
