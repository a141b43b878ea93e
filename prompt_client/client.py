"""A small SigV4-signing client for the prompt catalog API.

Requests are signed for the ``execute-api`` service with the caller's AWS credentials (the
API authorizes every method with IAM). The HTTP transport is injectable for tests.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

# (method, url, headers, body) -> (status, body)
Transport = Callable[[str, str, Mapping[str, str], bytes | None], tuple[int, bytes]]


class CatalogApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message


def urllib_transport(method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=dict(headers))
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


@dataclass
class PromptCatalogClient:
    endpoint: str  # the API's stage URL, e.g. https://abc.execute-api.eu-west-1.amazonaws.com/v1/
    region: str
    credentials: Credentials | None = None
    transport: Transport = urllib_transport

    def __post_init__(self) -> None:
        if self.credentials is None:
            session_credentials = boto3.Session(region_name=self.region).get_credentials()
            if session_credentials is None:
                raise CatalogApiError(0, "NoCredentials", "no AWS credentials found to sign requests with")
            self.credentials = session_credentials.get_frozen_credentials()

    def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        url = self.endpoint.rstrip("/") + "/" + "/".join(urllib.parse.quote(p, safe="") for p in path.split("/") if p)
        clean_query = {k: str(v) for k, v in (query or {}).items() if v is not None}
        if clean_query:
            url += "?" + urllib.parse.urlencode(clean_query)
        data = json.dumps(body).encode() if body is not None else None
        aws_request = AWSRequest(method=method, url=url, data=data, headers={"Content-Type": "application/json"})
        SigV4Auth(self.credentials, "execute-api", self.region).add_auth(aws_request)
        status, raw = self.transport(method, url, dict(aws_request.headers.items()), data)
        try:
            payload = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            payload = {"code": "InvalidResponse", "message": raw.decode(errors="replace")[:500]}
        if status >= 400:
            raise CatalogApiError(status, payload.get("code", "Error"), payload.get("message", str(payload)))
        return payload

    def list_prompts(self, limit: int = 50, next_token: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", "prompts", query={"limit": limit, "next_token": next_token})
        return result

    def iter_prompts(self) -> Iterator[dict[str, Any]]:
        token = None
        while True:
            page = self.list_prompts(next_token=token)
            yield from page["prompts"]
            token = page.get("next_token")
            if not token:
                return

    def describe(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"prompts/{name}")
        return result

    def get_version(self, name: str, version: int) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"prompts/{name}/versions/{version}")
        return result

    def get_alias(self, name: str, alias: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"prompts/{name}/aliases/{alias}")
        return result

    def list_versions(self, name: str, limit: int = 50, next_token: str | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self.request(
            "GET", f"prompts/{name}/versions", query={"limit": limit, "next_token": next_token}
        )
        return result

    def push(self, name: str, content: Mapping[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.request("POST", f"prompts/{name}/versions", body={"content": dict(content)})
        return result

    def promote(self, name: str, alias: str, version: int, expected_version: int | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {"version": version}
        if expected_version is not None:
            body["expected_version"] = expected_version
        result: dict[str, Any] = self.request("PUT", f"prompts/{name}/aliases/{alias}", body=body)
        return result

    def render(
        self,
        name: str,
        variables: Mapping[str, Any],
        *,
        version: int | None = None,
        alias: str | None = None,
        output: str = "text",
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"variables": dict(variables), "output": output}
        if version is not None:
            body["version"] = version
        if alias is not None:
            body["alias"] = alias
        result: dict[str, Any] = self.request("POST", f"prompts/{name}/render", body=body)
        return result

    def diff(self, name: str, old: str, new: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("GET", f"prompts/{name}/diff", query={"from": old, "to": new})
        return result
