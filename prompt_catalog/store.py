"""Versioned prompt storage in one DynamoDB table.

Items of a prompt share the partition key ``PROMPT#<name>``:

- ``META``: name, latest version number, timestamps; the ``by-type`` index lists prompts by name.
- ``V#<00000001>``: one immutable version (content as canonical JSON, hash, author, time).
- ``HASH#<sha256>``: the version holding that content, so identical content is registered once.
- ``ALIAS#<alias>``: the version an alias points to.

A new version is written in one transaction that advances ``META`` only from the number the
writer read, and creates the version and hash items only if absent. Concurrent writers
therefore get distinct consecutive numbers; a writer that loses the race reads again and
retries, and one that finds its content already registered returns that version.
"""

from __future__ import annotations

import base64
import binascii
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError

from prompt_catalog.errors import ConflictError, InvalidRequestError, NotFoundError
from prompt_catalog.model import PromptContent, PromptVersion, check_alias, check_name, content_from_dict

LIST_INDEX = "by-type"
PROMPT_ITEM_TYPE = "prompt"
MAX_ATTEMPTS = 64
MAX_PAGE = 100


def _key(name: str, sort: str) -> dict[str, Any]:
    return {"pk": {"S": f"PROMPT#{name}"}, "sk": {"S": sort}}


def _version_key(version: int) -> str:
    return f"V#{version:08d}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Registration:
    version: PromptVersion
    created: bool


@dataclass(frozen=True)
class AliasPointer:
    name: str
    alias: str
    version: int
    updated_at: str
    updated_by: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "alias": self.alias,
            "version": self.version,
            "updated_at": self.updated_at,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True)
class Page:
    items: list[dict[str, Any]]
    next_token: str | None

    def to_dict(self, key: str) -> dict[str, Any]:
        return {key: self.items, "next_token": self.next_token}


class PromptStore:
    """The catalog's operations over a DynamoDB client (``boto3.client("dynamodb")``)."""

    def __init__(self, client: Any, table_name: str, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self._client = client
        self._table = table_name
        self._sleep = sleep

    # -- versions -----------------------------------------------------------------------

    def register(self, name: str, content: PromptContent, author: str) -> Registration:
        """Store ``content`` as the next version of ``name``, or return the version that holds it."""
        check_name(name)
        content_hash = content.content_hash
        for attempt in range(MAX_ATTEMPTS):
            existing = self._version_with_hash(name, content_hash)
            if existing is not None:
                return Registration(self.get_version(name, existing), created=False)
            latest = self._latest(name)
            version = PromptVersion(name, latest + 1, content, content_hash, author, _now())
            try:
                self._client.transact_write_items(TransactItems=self._new_version_writes(version, latest))
                return Registration(version, created=True)
            except ClientError as error:
                if error.response["Error"]["Code"] != "TransactionCanceledException":
                    raise
            self._sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
        raise ConflictError(f"prompt {name!r}: gave up after {MAX_ATTEMPTS} concurrent attempts to add a version")

    def _new_version_writes(self, version: PromptVersion, latest: int) -> list[dict[str, Any]]:
        name, now = version.name, version.created_at
        if latest == 0:
            meta: dict[str, Any] = {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **_key(name, "META"),
                        "name": {"S": name},
                        "latest_version": {"N": "1"},
                        "created_at": {"S": now},
                        "updated_at": {"S": now},
                        "item_type": {"S": PROMPT_ITEM_TYPE},
                    },
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        else:
            meta = {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(name, "META"),
                    "UpdateExpression": "SET latest_version = :next, updated_at = :now",
                    "ConditionExpression": "latest_version = :latest",
                    "ExpressionAttributeValues": {
                        ":next": {"N": str(version.version)},
                        ":latest": {"N": str(latest)},
                        ":now": {"S": now},
                    },
                }
            }
        return [
            meta,
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {
                        **_key(name, _version_key(version.version)),
                        "version": {"N": str(version.version)},
                        "content": {"S": json.dumps(version.content.to_dict(), sort_keys=True)},
                        "content_hash": {"S": version.content_hash},
                        "author": {"S": version.author},
                        "created_at": {"S": now},
                    },
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": {**_key(name, f"HASH#{version.content_hash}"), "version": {"N": str(version.version)}},
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            },
        ]

    def _version_with_hash(self, name: str, content_hash: str) -> int | None:
        item = self._get(name, f"HASH#{content_hash}")
        return int(item["version"]["N"]) if item else None

    def _latest(self, name: str) -> int:
        item = self._get(name, "META")
        return int(item["latest_version"]["N"]) if item else 0

    def _get(self, name: str, sort: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._client.get_item(
            TableName=self._table, Key=_key(name, sort), ConsistentRead=True
        ).get("Item")
        return item

    def get_version(self, name: str, version: int) -> PromptVersion:
        check_name(name)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidRequestError(f"version {version!r} is invalid; versions are integers from 1")
        item = self._get(name, _version_key(version))
        if item is None:
            self._require_prompt(name)
            raise NotFoundError(f"prompt {name!r} has no version {version}")
        return _version_from_item(name, item)

    def latest_version(self, name: str) -> PromptVersion:
        latest = self._latest(check_name(name))
        if latest == 0:
            raise NotFoundError(f"prompt {name!r} does not exist")
        return self.get_version(name, latest)

    def _require_prompt(self, name: str) -> dict[str, Any]:
        meta = self._get(name, "META")
        if meta is None:
            raise NotFoundError(f"prompt {name!r} does not exist")
        return meta

    # -- aliases ------------------------------------------------------------------------

    def move_alias(
        self, name: str, alias: str, version: int, *, updated_by: str, expected_version: int | None = None
    ) -> AliasPointer:
        """Point ``alias`` at ``version`` atomically.

        With ``expected_version``, only if the alias points there now (0: only if it does not
        exist yet); otherwise ``ConflictError``.
        """
        check_name(name)
        check_alias(alias)
        self.get_version(name, version)
        pointer = AliasPointer(name, alias, version, _now(), updated_by)
        put: dict[str, Any] = {
            "TableName": self._table,
            "Item": {
                **_key(name, f"ALIAS#{alias}"),
                "version": {"N": str(version)},
                "updated_at": {"S": pointer.updated_at},
                "updated_by": {"S": updated_by},
            },
        }
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(sk)"
        elif expected_version is not None:
            put["ConditionExpression"] = "#version = :expected"
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        try:
            self._client.put_item(**put)
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise
            current = self._get(name, f"ALIAS#{alias}")
            now = f"version {current['version']['N']}" if current else "nothing"
            raise ConflictError(
                f"alias {alias!r} of {name!r} points to {now}, not {expected_version or 'nothing'}; not moved"
            ) from None
        return pointer

    def get_alias(self, name: str, alias: str) -> AliasPointer:
        check_name(name)
        check_alias(alias)
        item = self._get(name, f"ALIAS#{alias}")
        if item is None:
            self._require_prompt(name)
            raise NotFoundError(f"prompt {name!r} has no alias {alias!r}")
        return AliasPointer(name, alias, int(item["version"]["N"]), item["updated_at"]["S"], item["updated_by"]["S"])

    def resolve(self, name: str, alias: str) -> PromptVersion:
        return self.get_version(name, self.get_alias(name, alias).version)

    def aliases(self, name: str) -> list[AliasPointer]:
        self._require_prompt(check_name(name))
        items = self._query_prefix(name, "ALIAS#")
        return [
            AliasPointer(
                name,
                item["sk"]["S"].removeprefix("ALIAS#"),
                int(item["version"]["N"]),
                item["updated_at"]["S"],
                item["updated_by"]["S"],
            )
            for item in items
        ]

    # -- listing ------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        meta = self._require_prompt(check_name(name))
        return {
            "name": name,
            "latest_version": int(meta["latest_version"]["N"]),
            "created_at": meta["created_at"]["S"],
            "updated_at": meta["updated_at"]["S"],
            "aliases": {pointer.alias: pointer.version for pointer in self.aliases(name)},
        }

    def list_prompts(self, limit: int = 50, next_token: str | None = None) -> Page:
        query: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": LIST_INDEX,
            "KeyConditionExpression": "item_type = :type",
            "ExpressionAttributeValues": {":type": {"S": PROMPT_ITEM_TYPE}},
            "Limit": _page_size(limit),
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_token(next_token)
        response = self._client.query(**query)
        items = [
            {
                "name": item["name"]["S"],
                "latest_version": int(item["latest_version"]["N"]),
                "updated_at": item["updated_at"]["S"],
            }
            for item in response.get("Items", [])
        ]
        return Page(items, _encode_token(response.get("LastEvaluatedKey")))

    def list_versions(self, name: str, limit: int = 50, next_token: str | None = None) -> Page:
        self._require_prompt(check_name(name))
        query: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": f"PROMPT#{name}"}, ":prefix": {"S": "V#"}},
            "Limit": _page_size(limit),
            "ScanIndexForward": False,
        }
        if next_token:
            query["ExclusiveStartKey"] = _decode_token(next_token)
        response = self._client.query(**query)
        items = [
            {
                "version": int(item["version"]["N"]),
                "content_hash": item["content_hash"]["S"],
                "author": item["author"]["S"],
                "created_at": item["created_at"]["S"],
            }
            for item in response.get("Items", [])
        ]
        return Page(items, _encode_token(response.get("LastEvaluatedKey")))

    def _query_prefix(self, name: str, prefix: str) -> list[dict[str, Any]]:
        paginator = self._client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk AND begins_with(sk, :prefix)",
            ExpressionAttributeValues={":pk": {"S": f"PROMPT#{name}"}, ":prefix": {"S": prefix}},
            ConsistentRead=True,
        )
        return [item for page in pages for item in page.get("Items", [])]


def _version_from_item(name: str, item: dict[str, Any]) -> PromptVersion:
    return PromptVersion(
        name=name,
        version=int(item["version"]["N"]),
        content=content_from_dict(json.loads(item["content"]["S"])),
        content_hash=item["content_hash"]["S"],
        author=item["author"]["S"],
        created_at=item["created_at"]["S"],
    )


def _page_size(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_PAGE:
        raise InvalidRequestError(f"limit {limit!r} is invalid; expected 1 to {MAX_PAGE}")
    return limit


def _encode_token(key: dict[str, Any] | None) -> str | None:
    if not key:
        return None
    return base64.urlsafe_b64encode(json.dumps(key, sort_keys=True).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error, UnicodeError):
        raise InvalidRequestError("next_token is invalid") from None
    valid = (
        isinstance(key, dict)
        and all(
            isinstance(value, dict) and list(value) == ["S"] and isinstance(value["S"], str) for value in key.values()
        )
        and set(key) <= {"pk", "sk", "item_type", "name"}
    )
    if not valid:
        raise InvalidRequestError("next_token is invalid")
    return key
