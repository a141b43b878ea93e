"""The CLI and client against the API handler: signed requests, every subcommand, clear errors."""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from botocore.credentials import Credentials

from prompt_catalog.api import ROUTES
from prompt_client.cli import main
from prompt_client.client import CatalogApiError, PromptCatalogClient
from tests.conftest import REPO_ROOT
from tests.lambda_handlers.conftest import LambdaContext, api_event, load_handler

api = load_handler("prompt_api")
ENDPOINT = "https://abc123.execute-api.eu-west-1.amazonaws.com/v1/"
SIGNATURE = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/\d{8}/eu-west-1/execute-api/aws4_request, "
    r"SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$"
)


class ApiGatewayTransport:
    """Plays API Gateway: refuses unsigned requests, routes to the handler as a proxy event."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def __call__(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> tuple[int, bytes]:
        self.requests.append({"method": method, "url": url, "headers": dict(headers)})
        if not SIGNATURE.match(headers.get("Authorization", "")):
            return 403, json.dumps({"message": "Missing Authentication Token"}).encode()
        parsed = urllib.parse.urlsplit(url)
        path = parsed.path.removeprefix("/v1")
        for route_method, resource in ROUTES:
            pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", resource) + "$"
            match = re.match(pattern, path)
            if match and route_method == method:
                params = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
                query = dict(urllib.parse.parse_qsl(parsed.query)) or None
                event = api_event(
                    method, resource, path=params or None, query=query, body=body.decode() if body else None
                )
                response = api.handler(event, LambdaContext())
                return response["statusCode"], response["body"].encode()
        return 403, json.dumps({"message": "Missing Authentication Token"}).encode()


@pytest.fixture
def transport(catalog_env: Any) -> ApiGatewayTransport:
    api.store.cache_clear()
    return ApiGatewayTransport()


@pytest.fixture
def client(transport: ApiGatewayTransport) -> PromptCatalogClient:
    return PromptCatalogClient(ENDPOINT, "eu-west-1", Credentials("AKIDEXAMPLE", "secret"), transport)


def cli(client: PromptCatalogClient, *args: str) -> int:
    return main(["--endpoint", ENDPOINT, "--region", "eu-west-1", *args], client=client)


def output(capsys: pytest.CaptureFixture[str]) -> Any:
    """The CLI's (indented) JSON output, without the in-process handler's one-line logs and metrics."""
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith('{"')]
    return json.loads("\n".join(lines))


def test_every_request_is_signed_for_execute_api(client: PromptCatalogClient, transport: ApiGatewayTransport) -> None:
    client.list_prompts()
    [request] = transport.requests
    assert SIGNATURE.match(request["headers"]["Authorization"])
    assert "X-Amz-Date" in request["headers"]


def test_push_promote_render_show_diff_list(
    client: PromptCatalogClient, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    starter = REPO_ROOT / "prompts" / "ticket-classifier.yaml"
    assert cli(client, "push", str(starter)) == 0
    assert output(capsys) == [{"name": "ticket-classifier", "version": 1, "created": True}]
    assert cli(client, "push", str(starter)) == 0
    assert output(capsys)[0]["created"] is False

    changed = tmp_path / "ticket-classifier.yaml"
    changed.write_text(starter.read_text().replace("Category:", "Answer:"))
    cli(client, "push", str(changed))
    assert output(capsys)[0]["version"] == 2

    assert cli(client, "promote", "ticket-classifier", "--alias", "prod", "--version", "1") == 0
    assert output(capsys)["version"] == 1

    assert (
        cli(
            client,
            "render",
            "ticket-classifier",
            "--alias",
            "prod",
            "--var",
            "ticket=My card was charged twice",
            "--var",
            'categories=["billing", "bug"]',
        )
        == 0
    )
    captured = capsys.readouterr()
    assert "Categories: billing, bug" in captured.out
    assert "My card was charged twice" in captured.out
    assert captured.err.startswith("# ticket-classifier v1 ")

    assert cli(client, "show", "ticket-classifier") == 0
    assert output(capsys)["aliases"] == {"prod": 1}
    assert cli(client, "show", "ticket-classifier", "--alias", "prod") == 0
    assert output(capsys)["version"] == 1

    assert cli(client, "diff", "ticket-classifier", "prod", "2") == 0
    assert output(capsys)["changes"]["template"].endswith("-Category:\n+Answer:")

    assert cli(client, "list") == 0
    assert [p["name"] for p in output(capsys)] == ["ticket-classifier"]


def test_api_errors_are_reported_with_their_code(
    client: PromptCatalogClient, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(client, "show", "missing") == 1
    assert capsys.readouterr().err.strip() == "error: 404 NotFound: prompt 'missing' does not exist"
    with pytest.raises(CatalogApiError) as raised:
        client.promote("missing", "prod", 1, expected_version=0)
    assert (raised.value.status, raised.value.code) == (404, "NotFound")


def test_unsigned_requests_are_refused(transport: ApiGatewayTransport) -> None:
    status, _ = transport("GET", ENDPOINT + "prompts", {}, None)
    assert status == 403


def test_a_bad_var_is_a_usage_error(client: PromptCatalogClient) -> None:
    with pytest.raises(SystemExit, match="expected NAME=VALUE"):
        cli(client, "render", "x", "--var", "novalue")


def test_the_cli_needs_an_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LLMOPS_PROMPTS_ENDPOINT", raising=False)
    with pytest.raises(SystemExit, match="set --endpoint or LLMOPS_PROMPTS_ENDPOINT"):
        main(["list"])
