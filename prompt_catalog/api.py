"""The catalog's HTTP API as plain functions: a request in, a JSON response out.

Routes are keyed by API Gateway resource path. Every error is JSON ``{"code", "message"}``:
malformed input is a 400, an unknown prompt, version or alias a 404, a lost race a 409.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from prompt_catalog.diff import diff_versions
from prompt_catalog.errors import CatalogError, InvalidRequestError
from prompt_catalog.model import PromptVersion, check_alias, parse_content
from prompt_catalog.render import render
from prompt_catalog.store import PromptStore

MAX_BODY_BYTES = 256 * 1024


@dataclass(frozen=True)
class ApiRequest:
    method: str
    resource: str
    path_parameters: Mapping[str, str] = field(default_factory=dict)
    query: Mapping[str, str] = field(default_factory=dict)
    body: str | None = None
    caller: str = "unknown"


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: dict[str, Any]


Handler = Callable[[PromptStore, ApiRequest], ApiResponse]


def _json_body(request: ApiRequest, allowed: tuple[str, ...]) -> dict[str, Any]:
    if request.body is None or not request.body.strip():
        raise InvalidRequestError("the request needs a JSON object body")
    if len(request.body.encode()) > MAX_BODY_BYTES:
        raise InvalidRequestError(f"the body is over {MAX_BODY_BYTES} bytes")
    try:
        body = json.loads(request.body)
    except (json.JSONDecodeError, RecursionError):
        raise InvalidRequestError("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise InvalidRequestError("the body must be a JSON object")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise InvalidRequestError(f"{unknown[0]}: unknown field; allowed: {', '.join(allowed)}")
    return body


def _param(request: ApiRequest, key: str) -> str:
    value = request.path_parameters.get(key)
    if not value:
        raise InvalidRequestError(f"path parameter {key!r} is missing")
    return value


def _version_number(value: Any, what: str = "version") -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
        number = int(value)
    else:
        raise InvalidRequestError(f"{what} {value!r} is invalid; versions are integers from 1")
    if number < 1:
        raise InvalidRequestError(f"{what} {value!r} is invalid; versions are integers from 1")
    return number


def _limit(request: ApiRequest) -> int:
    raw = request.query.get("limit", "50")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3):
        raise InvalidRequestError(f"limit {raw!r} is invalid; expected 1 to 100")
    return int(raw)


def _version_or_alias(store: PromptStore, name: str, ref: Any, what: str) -> PromptVersion:
    """A version from ``3`` or ``"3"`` (a number) or ``"prod"`` (an alias)."""
    if isinstance(ref, str) and not ref.isdigit():
        return store.resolve(name, check_alias(ref))
    return store.get_version(name, _version_number(ref, what))


def list_prompts(store: PromptStore, request: ApiRequest) -> ApiResponse:
    page = store.list_prompts(_limit(request), request.query.get("next_token"))
    return ApiResponse(200, page.to_dict("prompts"))


def describe_prompt(store: PromptStore, request: ApiRequest) -> ApiResponse:
    return ApiResponse(200, store.describe(_param(request, "name")))


def register_version(store: PromptStore, request: ApiRequest) -> ApiResponse:
    body = _json_body(request, ("content",))
    if "content" not in body:
        raise InvalidRequestError("content: required field is missing")
    registration = store.register(_param(request, "name"), parse_content(body["content"]), request.caller)
    return ApiResponse(
        201 if registration.created else 200, {"created": registration.created, **registration.version.to_dict()}
    )


def list_versions(store: PromptStore, request: ApiRequest) -> ApiResponse:
    page = store.list_versions(_param(request, "name"), _limit(request), request.query.get("next_token"))
    return ApiResponse(200, page.to_dict("versions"))


def get_version(store: PromptStore, request: ApiRequest) -> ApiResponse:
    version = store.get_version(_param(request, "name"), _version_number(_param(request, "version")))
    return ApiResponse(200, version.to_dict())


def get_alias(store: PromptStore, request: ApiRequest) -> ApiResponse:
    name, alias = _param(request, "name"), check_alias(_param(request, "alias"))
    pointer = store.get_alias(name, alias)
    return ApiResponse(200, {"alias": pointer.to_dict(), **store.get_version(name, pointer.version).to_dict()})


def move_alias(store: PromptStore, request: ApiRequest) -> ApiResponse:
    body = _json_body(request, ("version", "expected_version"))
    if "version" not in body:
        raise InvalidRequestError("version: required field is missing")
    expected = body.get("expected_version")
    if expected is not None and not (expected == 0 and type(expected) is int):  # 0: "no alias yet"
        expected = _version_number(expected, "expected_version")
    pointer = store.move_alias(
        _param(request, "name"),
        check_alias(_param(request, "alias")),
        _version_number(body["version"]),
        updated_by=request.caller,
        expected_version=expected,
    )
    return ApiResponse(200, pointer.to_dict())


def render_prompt(store: PromptStore, request: ApiRequest) -> ApiResponse:
    body = _json_body(request, ("version", "alias", "variables", "output"))
    name = _param(request, "name")
    if "version" in body and "alias" in body:
        raise InvalidRequestError("give version or alias, not both")
    if "version" in body:
        version = store.get_version(name, _version_number(body["version"]))
    elif "alias" in body:
        version = store.resolve(name, check_alias(body["alias"]))
    else:
        version = store.latest_version(name)
    output = body.get("output", "text")
    if not isinstance(output, str):
        raise InvalidRequestError("output must be 'text' or 'chat'")
    variables = body.get("variables", {})
    return ApiResponse(200, render(version, variables, output).to_dict())


def diff(store: PromptStore, request: ApiRequest) -> ApiResponse:
    name = _param(request, "name")
    refs = [request.query.get(key) for key in ("from", "to")]
    if None in refs:
        raise InvalidRequestError("query parameters 'from' and 'to' are required (versions or aliases)")
    old, new = (_version_or_alias(store, name, ref, key) for ref, key in zip(refs, ("from", "to"), strict=True))
    return ApiResponse(200, diff_versions(old, new))


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/prompts"): list_prompts,
    ("GET", "/prompts/{name}"): describe_prompt,
    ("POST", "/prompts/{name}/versions"): register_version,
    ("GET", "/prompts/{name}/versions"): list_versions,
    ("GET", "/prompts/{name}/versions/{version}"): get_version,
    ("GET", "/prompts/{name}/aliases/{alias}"): get_alias,
    ("PUT", "/prompts/{name}/aliases/{alias}"): move_alias,
    ("POST", "/prompts/{name}/render"): render_prompt,
    ("GET", "/prompts/{name}/diff"): diff,
}


def handle(store: PromptStore, request: ApiRequest) -> ApiResponse:
    """Route and run one request; catalog errors become their JSON error response."""
    route = ROUTES.get((request.method, request.resource))
    if route is None:
        known = sorted(f"{method} {resource}" for method, resource in ROUTES)
        return ApiResponse(
            404,
            {
                "code": "NotFound",
                "message": f"no route {request.method} {request.resource}; routes: {', '.join(known)}",
            },
        )
    try:
        return route(store, request)
    except CatalogError as error:
        return ApiResponse(error.status, error.to_dict())


def request_from_event(event: Mapping[str, Any]) -> ApiRequest:
    """An API Gateway (REST, proxy integration) event as an ``ApiRequest``; raise on a malformed event."""
    if not isinstance(event, Mapping):
        raise InvalidRequestError("the event is not an API Gateway proxy event")
    body = event.get("body")
    if body is not None and not isinstance(body, str):
        raise InvalidRequestError("the event body is not a string")
    if body is not None and event.get("isBase64Encoded"):
        try:
            body = base64.b64decode(body, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidRequestError("the body is not valid base64-encoded UTF-8") from None
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return ApiRequest(
        method=str(event.get("httpMethod", "")),
        resource=str(event.get("resource", "")),
        path_parameters=_strings(event.get("pathParameters")),
        query=_strings(event.get("queryStringParameters")),
        body=body,
        caller=str(identity.get("userArn") or identity.get("caller") or "unknown"),
    )


def _strings(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise InvalidRequestError("path and query parameters must be strings")
    return dict(value)
