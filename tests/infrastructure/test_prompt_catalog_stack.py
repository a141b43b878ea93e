"""Prompt catalog stack: a recoverable encrypted table, an IAM-only validated API, prompts as code."""

from __future__ import annotations

import json
from typing import Any

import pytest

from prompt_catalog.api import ROUTES
from prompt_catalog.files import load_prompt_definitions
from stacks.config import PlatformConfig
from stacks.prompt_catalog_stack import ROUTE_OPTIONS
from tests.conftest import ENVIRONMENTS, REPO_ROOT, SynthesizedPlatform, resources_of


def catalog(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    return platform.template_json(env, "PromptCatalog")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_table_is_on_demand_kms_encrypted_and_point_in_time_recoverable(
    platform: SynthesizedPlatform, env: str
) -> None:
    [(_, table)] = resources_of(catalog(platform, env), "AWS::DynamoDB::Table")
    properties = table["Properties"]
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"]["SSEEnabled"] is True
    assert properties["SSESpecification"]["SSEType"] == "KMS"
    assert "CatalogKey" in properties["SSESpecification"]["KMSMasterKeyId"]["Fn::GetAtt"][0]
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert [index["IndexName"] for index in properties["GlobalSecondaryIndexes"]] == ["by-type"]


def test_prod_table_is_retained_and_deletion_protected(platform: SynthesizedPlatform) -> None:
    [(_, prod)] = resources_of(catalog(platform, "prod"), "AWS::DynamoDB::Table")
    assert prod["Properties"]["DeletionProtectionEnabled"] is True
    assert (prod["DeletionPolicy"], prod["UpdateReplacePolicy"]) == ("Retain", "Retain")
    [(_, dev)] = resources_of(catalog(platform, "dev"), "AWS::DynamoDB::Table")
    assert dev["Properties"].get("DeletionProtectionEnabled", False) is False
    assert dev["DeletionPolicy"] == "Delete"


def _paths(template: dict[str, Any]) -> dict[str, str]:
    """Logical id of each API resource -> its path."""
    resources = dict(resources_of(template, "AWS::ApiGateway::Resource"))
    paths: dict[str, str] = {}

    def path_of(logical_id: str) -> str:
        if logical_id not in paths:
            properties = resources[logical_id]["Properties"]
            parent = properties["ParentId"]
            prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
            paths[logical_id] = f"{prefix}/{properties['PathPart']}"
        return paths[logical_id]

    for logical_id in resources:
        path_of(logical_id)
    return paths


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_route_requires_sigv4_and_is_validated(platform: SynthesizedPlatform, env: str) -> None:
    template = catalog(platform, env)
    paths = _paths(template)
    methods = [m["Properties"] for _, m in resources_of(template, "AWS::ApiGateway::Method")]
    routes = {(m["HttpMethod"], paths[m["ResourceId"]["Ref"]]) for m in methods}
    assert routes == set(ROUTES)
    for method in methods:
        assert method["AuthorizationType"] == "AWS_IAM"
        assert "RequestValidatorId" in method
        assert method["Integration"]["Type"] == "AWS_PROXY"
    [(_, validator)] = resources_of(template, "AWS::ApiGateway::RequestValidator")
    assert validator["Properties"]["ValidateRequestBody"] is True
    assert validator["Properties"]["ValidateRequestParameters"] is True


def test_request_models_exist_only_for_real_routes() -> None:
    assert set(ROUTE_OPTIONS) <= set(ROUTES)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_stage_throttles_traces_and_writes_access_logs(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    [(_, stage)] = resources_of(catalog(platform, env), "AWS::ApiGateway::Stage")
    properties = stage["Properties"]
    settings = platform_config.environment(env).prompt_catalog
    assert properties["TracingEnabled"] is True
    assert '{"Ref": "ApiAccessLogs' in json.dumps(properties["AccessLogSetting"]["DestinationArn"])
    [method_settings] = properties["MethodSettings"]
    assert method_settings["ThrottlingRateLimit"] == settings.throttle_rate_limit
    assert method_settings["ThrottlingBurstLimit"] == settings.throttle_burst_limit
    assert method_settings["LoggingLevel"] == "ERROR"
    assert method_settings["DataTraceEnabled"] is False


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_functions_reach_the_table_from_the_isolated_network(platform: SynthesizedPlatform, env: str) -> None:
    template = catalog(platform, env)
    [(table_id, _)] = resources_of(template, "AWS::DynamoDB::Table")
    functions = [
        f["Properties"]
        for logical_id, f in resources_of(template, "AWS::Lambda::Function")
        if logical_id.startswith(("ApiFunction", "SyncFunction"))
    ]
    assert len(functions) == 2
    for function in functions:
        assert function["Environment"]["Variables"]["TABLE_NAME"] == {"Ref": table_id}
        assert function["VpcConfig"]["SubnetIds"]
        assert function["TracingConfig"] == {"Mode": "Active"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_prompts_as_code_sync_the_files_to_the_environments_alias(platform: SynthesizedPlatform, env: str) -> None:
    [(_, sync)] = resources_of(catalog(platform, env), "Custom::PromptSync")
    properties = sync["Properties"]
    assert properties["Alias"] == env
    assert json.loads(properties["Prompts"]) == load_prompt_definitions(REPO_ROOT / "prompts")
    assert properties["ServiceToken"]["Fn::GetAtt"][0].startswith("SyncFunction")


def test_starter_prompts_cover_every_kind_the_issue_names() -> None:
    names = {d["name"]: d["kind"] for d in load_prompt_definitions(REPO_ROOT / "prompts")}
    assert names == {
        "ticket-classifier": "zero-shot",
        "invoice-extractor": "few-shot",
        "step-by-step-reasoner": "chain-of-thought",
        "rag-answer": "chat",
        "llm-judge-rubric": "chat",
    }


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_api_gateways_own_errors_use_the_apis_json_shape(platform: SynthesizedPlatform, env: str) -> None:
    responses = {
        r["Properties"]["ResponseType"]: r["Properties"]["ResponseTemplates"]["application/json"]
        for _, r in resources_of(catalog(platform, env), "AWS::ApiGateway::GatewayResponse")
    }
    assert set(responses) == {"BAD_REQUEST_BODY", "BAD_REQUEST_PARAMETERS", "DEFAULT_4XX", "DEFAULT_5XX"}
    assert responses["BAD_REQUEST_BODY"] == '{"code": "InvalidRequest", "message": $context.error.messageString}'
    sample = (
        responses["DEFAULT_4XX"]
        .replace("$context.error.responseType", "ACCESS_DENIED")
        .replace("$context.error.messageString", json.dumps('User: "x" is not authorized'))
    )
    assert json.loads(sample) == {"code": "ACCESS_DENIED", "message": 'User: "x" is not authorized'}
