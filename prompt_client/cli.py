"""``llmops-prompts``: list, show, push, promote, render and diff prompts in the catalog.

The API endpoint comes from ``--endpoint`` or ``LLMOPS_PROMPTS_ENDPOINT`` (the
``PromptCatalog`` stack's ``ApiUrl`` output); the region from ``--region`` or the AWS
configuration. Requests are signed with your AWS credentials.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import boto3

from prompt_catalog.files import PromptFileError, load_prompt_definitions
from prompt_client.client import CatalogApiError, PromptCatalogClient


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmops-prompts", description=__doc__.splitlines()[0])
    parser.add_argument("--endpoint", default=os.environ.get("LLMOPS_PROMPTS_ENDPOINT"), help="API stage URL")
    parser.add_argument("--region", default=None, help="AWS region of the API (default: your AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="list prompts with their latest version")

    show = commands.add_parser("show", help="show a prompt, a version or what an alias points to")
    show.add_argument("name")
    ref = show.add_mutually_exclusive_group()
    ref.add_argument("--version", type=int)
    ref.add_argument("--alias")

    push = commands.add_parser("push", help="register prompts/*.yaml files (unchanged content creates nothing)")
    push.add_argument("files", nargs="+", type=Path)

    promote = commands.add_parser("promote", help="point an alias at a version")
    promote.add_argument("name")
    promote.add_argument("--alias", required=True)
    promote.add_argument("--version", type=int, required=True)
    promote.add_argument("--expected-version", type=int, help="only if the alias points here now (0: not yet set)")

    render = commands.add_parser("render", help="render a prompt with variables")
    render.add_argument("name")
    render_ref = render.add_mutually_exclusive_group()
    render_ref.add_argument("--version", type=int)
    render_ref.add_argument("--alias")
    render.add_argument(
        "--var",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a variable; VALUE is parsed as JSON when it can be, else taken as text",
    )
    render.add_argument("--output", choices=("text", "chat"), default="text")

    diff = commands.add_parser("diff", help="what changed between two versions or aliases")
    diff.add_argument("name")
    diff.add_argument("old", help="version number or alias")
    diff.add_argument("new", help="version number or alias")
    return parser


def _variables(pairs: Sequence[str]) -> dict[str, Any]:
    variables: dict[str, Any] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise SystemExit(f"--var {pair!r}: expected NAME=VALUE")
        try:
            variables[name] = json.loads(value)
        except json.JSONDecodeError:
            variables[name] = value
    return variables


def _load_files(files: Sequence[Path]) -> list[dict[str, Any]]:
    definitions = []
    for path in files:
        matching = [d for d in load_prompt_definitions(path.parent) if d["name"] == path.stem]
        if not matching:
            raise SystemExit(f"{path}: no prompt definition found")
        definitions.extend(matching)
    return definitions


def run(args: argparse.Namespace, client: PromptCatalogClient) -> Any:
    if args.command == "list":
        return list(client.iter_prompts())
    if args.command == "show":
        if args.version is not None:
            return client.get_version(args.name, args.version)
        if args.alias is not None:
            return client.get_alias(args.name, args.alias)
        return client.describe(args.name)
    if args.command == "push":
        results = []
        for definition in _load_files(args.files):
            content = {key: value for key, value in definition.items() if key != "name"}
            result = client.push(definition["name"], content)
            results.append({"name": definition["name"], "version": result["version"], "created": result["created"]})
        return results
    if args.command == "promote":
        return client.promote(args.name, args.alias, args.version, args.expected_version)
    if args.command == "render":
        return client.render(
            args.name, _variables(args.var), version=args.version, alias=args.alias, output=args.output
        )
    if args.command == "diff":
        return client.diff(args.name, args.old, args.new)
    raise SystemExit(f"unknown command {args.command!r}")


def main(argv: Sequence[str] | None = None, client: PromptCatalogClient | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if client is None:
            if not args.endpoint:
                raise SystemExit("set --endpoint or LLMOPS_PROMPTS_ENDPOINT to the PromptCatalog stack's ApiUrl")
            region = args.region or boto3.Session().region_name
            if not region:
                raise SystemExit("set --region or configure an AWS region")
            client = PromptCatalogClient(args.endpoint, region)
        result = run(args, client)
    except CatalogApiError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except PromptFileError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "render" and args.output == "text":
        print(result["text"])
        print(
            f"# {result['prompt']['name']} v{result['prompt']['version']} {result['prompt']['content_hash'][:12]}",
            file=sys.stderr,
        )
    else:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
