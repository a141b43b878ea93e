"""The prompt API handler against moto: one contract test per route and per error class."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prompt_catalog.api import ROUTES
from tests.lambda_handlers.conftest import LambdaContext, api_event, load_handler

handler = load_handler("prompt_api")

CONTENT = {
    "kind": "zero-shot",
    "template": "Classify: {{ text }}",
    "variables": [{"name": "text"}],
    "model_parameters": {"temperature": 0},
}


def call(event: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    response = handler.handler(event, LambdaContext())
    assert response["headers"]["Content-Type"] == "application/json"
    return response["statusCode"], json.loads(response["body"])


def register(name: str = "classifier", content: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    return call(
        api_event("POST", "/prompts/{name}/versions", path={"name": name}, body={"content": content or CONTENT})
    )


@pytest.fixture(autouse=True)
def _fresh_store(catalog_env: Any) -> None:
    handler.store.cache_clear()


def test_register_creates_then_returns_the_existing_version() -> None:
    status, body = register()
    assert status == 201
    assert body["created"] is True
    assert body["version"] == 1
    assert body["author"] == "arn:aws:iam::123456789012:user/alice"
    status, body = register()
    assert (status, body["created"], body["version"]) == (200, False, 1)


def test_get_list_describe_and_versions() -> None:
    register()
    register(content={**CONTENT, "template": "Label: {{ text }}"})
    register("other")
    assert (
        call(api_event("GET", "/prompts/{name}/versions/{version}", path={"name": "classifier", "version": "2"}))[1][
            "template"
        ]
        == "Label: {{ text }}"
    )
    status, body = call(api_event("GET", "/prompts", query={"limit": "1"}))
    assert status == 200 and [p["name"] for p in body["prompts"]] == ["classifier"] and body["next_token"]
    status, body = call(api_event("GET", "/prompts", query={"limit": "1", "next_token": body["next_token"]}))
    assert [p["name"] for p in body["prompts"]] == ["other"]
    status, body = call(api_event("GET", "/prompts/{name}/versions", path={"name": "classifier"}))
    assert [v["version"] for v in body["versions"]] == [2, 1]
    assert call(api_event("GET", "/prompts/{name}", path={"name": "classifier"}))[1]["latest_version"] == 2


def test_aliases_move_conditionally_and_resolve() -> None:
    register()
    register(content={**CONTENT, "template": "Label: {{ text }}"})
    move = api_event(
        "PUT",
        "/prompts/{name}/aliases/{alias}",
        path={"name": "classifier", "alias": "prod"},
        body={"version": 1, "expected_version": 0},
    )
    assert call(move)[0] == 200
    status, body = call(
        api_event("GET", "/prompts/{name}/aliases/{alias}", path={"name": "classifier", "alias": "prod"})
    )
    assert status == 200 and body["version"] == 1 and body["alias"]["alias"] == "prod"
    stale = api_event(
        "PUT",
        "/prompts/{name}/aliases/{alias}",
        path={"name": "classifier", "alias": "prod"},
        body={"version": 2, "expected_version": 2},
    )
    status, body = call(stale)
    assert status == 409 and body["code"] == "Conflict"


def test_render_by_alias_version_or_latest_reports_what_it_used() -> None:
    _, first = register()
    register(content={**CONTENT, "template": "Label: {{ text }}"})
    call(
        api_event(
            "PUT", "/prompts/{name}/aliases/{alias}", path={"name": "classifier", "alias": "prod"}, body={"version": 1}
        )
    )
    path = {"name": "classifier"}
    status, body = call(
        api_event("POST", "/prompts/{name}/render", path=path, body={"alias": "prod", "variables": {"text": "hi"}})
    )
    assert status == 200
    assert body["text"] == "Classify: hi"
    assert body["prompt"] == {"name": "classifier", "version": 1, "content_hash": first["content_hash"]}
    _, latest = call(api_event("POST", "/prompts/{name}/render", path=path, body={"variables": {"text": "hi"}}))
    assert latest["text"] == "Label: hi"
    _, chat = call(
        api_event(
            "POST",
            "/prompts/{name}/render",
            path=path,
            body={"version": 1, "variables": {"text": "hi"}, "output": "chat"},
        )
    )
    assert chat["messages"] == [{"role": "user", "content": "Classify: hi"}]


def test_diff_between_versions_and_aliases() -> None:
    register()
    register(content={**CONTENT, "template": "Label: {{ text }}"})
    call(
        api_event(
            "PUT", "/prompts/{name}/aliases/{alias}", path={"name": "classifier", "alias": "prod"}, body={"version": 1}
        )
    )
    status, body = call(
        api_event("GET", "/prompts/{name}/diff", path={"name": "classifier"}, query={"from": "prod", "to": "2"})
    )
    assert status == 200 and body["identical"] is False
    assert list(body["changes"]) == ["template"]
    assert "-Classify: {{ text }}" in body["changes"]["template"]
    assert "+Label: {{ text }}" in body["changes"]["template"]


ERRORS: list[tuple[str, Callable[[], dict[str, Any]], int, str, str]] = [
    (
        "malformed JSON",
        lambda: api_event("POST", "/prompts/{name}/versions", path={"name": "x"}, body="{nope"),
        400,
        "InvalidRequest",
        "the body is not valid JSON",
    ),
    (
        "body not an object",
        lambda: api_event("POST", "/prompts/{name}/versions", path={"name": "x"}, body="[1]"),
        400,
        "InvalidRequest",
        "the body must be a JSON object",
    ),
    (
        "missing body",
        lambda: api_event("POST", "/prompts/{name}/versions", path={"name": "x"}),
        400,
        "InvalidRequest",
        "the request needs a JSON object body",
    ),
    (
        "invalid content",
        lambda: api_event(
            "POST", "/prompts/{name}/versions", path={"name": "x"}, body={"content": {**CONTENT, "kind": "zero"}}
        ),
        400,
        "InvalidRequest",
        "kind: 'zero' is not one of",
    ),
    (
        "oversized template",
        lambda: api_event(
            "POST",
            "/prompts/{name}/versions",
            path={"name": "x"},
            body={"content": {**CONTENT, "template": "{{ text }}" + "x" * 40_000}},
        ),
        400,
        "TemplateTooLarge",
        "characters is over the limit",
    ),
    (
        "invalid name",
        lambda: api_event("POST", "/prompts/{name}/versions", path={"name": "Bad Name"}, body={"content": CONTENT}),
        400,
        "InvalidRequest",
        "prompt name 'Bad Name' is invalid",
    ),
    (
        "invalid version",
        lambda: api_event("GET", "/prompts/{name}/versions/{version}", path={"name": "classifier", "version": "one"}),
        400,
        "InvalidRequest",
        "version 'one' is invalid",
    ),
    (
        "render with missing variable",
        lambda: api_event("POST", "/prompts/{name}/render", path={"name": "classifier"}, body={"variables": {}}),
        400,
        "RenderError",
        "variable 'text' (string) is required",
    ),
    (
        "unknown prompt",
        lambda: api_event("GET", "/prompts/{name}", path={"name": "nope"}),
        404,
        "NotFound",
        "prompt 'nope' does not exist",
    ),
    (
        "unknown version",
        lambda: api_event("GET", "/prompts/{name}/versions/{version}", path={"name": "classifier", "version": "9"}),
        404,
        "NotFound",
        "prompt 'classifier' has no version 9",
    ),
    (
        "unknown alias",
        lambda: api_event("GET", "/prompts/{name}/aliases/{alias}", path={"name": "classifier", "alias": "prod"}),
        404,
        "NotFound",
        "prompt 'classifier' has no alias 'prod'",
    ),
    (
        "unknown route",
        lambda: api_event("DELETE", "/prompts/{name}", path={"name": "classifier"}),
        404,
        "NotFound",
        "no route DELETE /prompts/{name}",
    ),
    (
        "alias conflict",
        lambda: api_event(
            "PUT",
            "/prompts/{name}/aliases/{alias}",
            path={"name": "classifier", "alias": "prod"},
            body={"version": 1, "expected_version": 5},
        ),
        409,
        "Conflict",
        "alias 'prod' of 'classifier' points to nothing, not 5",
    ),
]


@pytest.mark.parametrize(
    ("make_event", "status", "code", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS]
)
def test_each_error_class_is_json_with_code_and_message(
    make_event: Callable[[], dict[str, Any]], status: int, code: str, message: str
) -> None:
    register()
    got_status, body = call(make_event())
    assert (got_status, body["code"]) == (status, code)
    assert message in body["message"]


def test_dynamodb_throttling_is_a_503_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    def throttled(*_: Any, **__: Any) -> Any:
        raise ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow down"}}, "GetItem")

    monkeypatch.setattr(handler.store(), "describe", throttled)
    status, body = call(api_event("GET", "/prompts/{name}", path={"name": "classifier"}))
    assert (status, body["code"]) == (503, "Throttled")


json_leaf = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20)
json_value = st.recursive(
    json_leaf, lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=10), c, max_size=4), max_leaves=12
)
bodies = st.one_of(
    st.none(),
    st.text(max_size=200),
    json_value.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "content": st.one_of(
                json_value,
                st.fixed_dictionaries(
                    {"kind": st.sampled_from(["zero-shot", "chat", "few-shot"])},
                    optional={
                        "template": st.text(max_size=50),
                        "variables": json_value,
                        "messages": json_value,
                        "examples": json_value,
                    },
                ),
            ),
            "version": json_value,
            "alias": json_value,
            "variables": json_value,
            "output": json_value,
            "expected_version": json_value,
        },
    ).map(json.dumps),
)
names = st.one_of(st.just("classifier"), st.text(max_size=70))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(sorted(ROUTES)),
    name=names,
    second=st.text(max_size=12),
    body=bodies,
    query=st.dictionaries(st.sampled_from(["limit", "next_token", "from", "to"]), st.text(max_size=30), max_size=3),
)
def test_no_request_however_malformed_produces_a_5xx(
    route: tuple[str, str], name: str, second: str, body: str | None, query: dict[str, str]
) -> None:
    method, resource = route
    register()
    path = {"name": name, "version": second, "alias": second}
    status, response = call(api_event(method, resource, path=path, query=query, body=body))
    assert status < 500, response
    if status >= 400:
        assert set(response) == {"code", "message"} and response["message"]
