"""Prompts as code: the custom resource syncs, is idempotent, and always answers CloudFormation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from prompt_catalog.files import PromptFileError, load_prompt_definitions
from prompt_catalog.store import PromptStore
from tests.conftest import REPO_ROOT
from tests.lambda_handlers.conftest import LambdaContext, load_handler
from tests.prompt_catalog.conftest import TABLE

sync_handler = load_handler("prompt_sync")
STARTER = load_prompt_definitions(REPO_ROOT / "prompts")


def event(request_type: str, prompts: list[dict[str, Any]], alias: str = "dev") -> dict[str, Any]:
    return {
        "RequestType": request_type,
        "ResponseURL": "https://cloudformation-custom-resource-response.example/presigned",
        "StackId": "arn:aws:cloudformation:eu-west-1:123456789012:stack/catalog/1",
        "RequestId": "request-1",
        "LogicalResourceId": "PromptSync",
        "ResourceProperties": {"ServiceToken": "arn", "Prompts": json.dumps(prompts), "Alias": alias},
    }


@pytest.fixture
def responses(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    monkeypatch.setattr(
        sync_handler,
        "send_response",
        lambda evt, status, reason, data: sent.append({"Status": status, "Reason": reason, "Data": data}),
    )
    return sent


def run(evt: dict[str, Any]) -> None:
    sync_handler.handler(evt, LambdaContext())


def test_starter_prompts_sync_and_the_alias_follows(catalog_env: Any, responses: list[dict[str, Any]]) -> None:
    run(event("Create", STARTER))
    assert responses[-1] == {"Status": "SUCCESS", "Reason": "prompts synced", "Data": {"Synced": 5, "Created": 5}}
    store = PromptStore(catalog_env, TABLE)
    for definition in STARTER:
        assert store.resolve(definition["name"], "dev").version == 1


def test_an_unchanged_sync_creates_nothing_and_a_change_creates_one_version(
    catalog_env: Any, responses: list[dict[str, Any]]
) -> None:
    run(event("Create", STARTER))
    run(event("Update", STARTER))
    assert responses[-1]["Data"] == {"Synced": 5, "Created": 0}
    changed = [dict(d) for d in STARTER]
    changed[0]["description"] = "now with a new description"
    run(event("Update", changed))
    assert responses[-1]["Data"] == {"Synced": 5, "Created": 1}
    store = PromptStore(catalog_env, TABLE)
    assert store.resolve(changed[0]["name"], "dev").version == 2
    assert store.resolve(changed[1]["name"], "dev").version == 1


def test_each_environment_moves_its_own_alias(catalog_env: Any, responses: list[dict[str, Any]]) -> None:
    run(event("Create", STARTER, alias="dev"))
    changed = [{**STARTER[0], "description": "v2"}]
    run(event("Update", changed, alias="staging"))
    store = PromptStore(catalog_env, TABLE)
    assert store.get_alias(STARTER[0]["name"], "dev").version == 1
    assert store.get_alias(STARTER[0]["name"], "staging").version == 2


def test_delete_leaves_the_catalog_alone(catalog_env: Any, responses: list[dict[str, Any]]) -> None:
    run(event("Create", STARTER))
    run(event("Delete", STARTER))
    assert responses[-1]["Status"] == "SUCCESS"
    assert PromptStore(catalog_env, TABLE).describe(STARTER[0]["name"])["latest_version"] == 1


def test_a_failure_is_reported_to_cloudformation(catalog_env: Any, responses: list[dict[str, Any]]) -> None:
    run(event("Create", [{"name": "broken", "kind": "zero-shot", "template": "{{ undeclared }}"}]))
    assert responses[-1]["Status"] == "FAILED"
    assert "uses undeclared variable 'undeclared'" in responses[-1]["Reason"]


def test_the_response_is_put_to_the_presigned_url(monkeypatch: pytest.MonkeyPatch) -> None:
    captured: dict[str, Any] = {}

    class Response:
        def __enter__(self) -> Response:
            return self

        def __exit__(self, *_: Any) -> None:
            return None

    def urlopen(request: Any, timeout: int) -> Response:
        captured.update(url=request.full_url, method=request.get_method(), body=json.loads(request.data))
        return Response()

    monkeypatch.setattr(sync_handler.urllib.request, "urlopen", urlopen)
    sync_handler.send_response(event("Create", []), "SUCCESS", "ok", {"Synced": 0})
    assert captured["method"] == "PUT"
    assert captured["url"].endswith("/presigned")
    assert captured["body"]["PhysicalResourceId"] == "prompts-as-code"
    assert captured["body"]["Status"] == "SUCCESS"


def test_prompt_files_are_validated_with_the_file_named(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text("name: good\nkind: zero-shot\ntemplate: Hi\n")
    assert [d["name"] for d in load_prompt_definitions(tmp_path)] == ["good"]
    (tmp_path / "bad.yaml").write_text("name: bad\nkind: zero-shot\ntemplate: '{{ who }}'\n")
    with pytest.raises(PromptFileError, match=r"bad\.yaml: template: uses undeclared variable 'who'"):
        load_prompt_definitions(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: other\nkind: zero-shot\ntemplate: Hi\n")
    with pytest.raises(PromptFileError, match="name 'other' must equal the file name 'bad'"):
        load_prompt_definitions(tmp_path)
    (tmp_path / "bad.yaml").write_text("name: [unclosed\n")
    with pytest.raises(PromptFileError, match="not valid YAML"):
        load_prompt_definitions(tmp_path)
