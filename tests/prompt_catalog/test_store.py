"""Versioned storage against moto: immutable versions, idempotent registration, atomic aliases."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_catalog.errors import ConflictError, InvalidRequestError, NotFoundError
from prompt_catalog.store import PromptStore
from tests.prompt_catalog.conftest import TABLE, content


def test_versions_are_numbered_from_one(store: PromptStore) -> None:
    first = store.register("classifier", content("A {{ text }}"), "alice")
    second = store.register("classifier", content("B {{ text }}"), "bob")
    assert (first.created, first.version.version) == (True, 1)
    assert (second.created, second.version.version) == (True, 2)
    assert store.latest_version("classifier").content.template == "B {{ text }}"
    assert store.get_version("classifier", 1).author == "alice"


def test_identical_content_returns_the_existing_version(store: PromptStore) -> None:
    first = store.register("classifier", content(), "alice")
    again = store.register("classifier", content(), "bob")
    assert again.created is False
    assert again.version == first.version
    assert store.describe("classifier")["latest_version"] == 1


def test_a_stored_version_never_changes(store: PromptStore, dynamodb: Any) -> None:
    store.register("classifier", content("A {{ text }}"), "alice")
    store.register("classifier", content("B {{ text }}"), "alice")
    assert store.get_version("classifier", 1).content.template == "A {{ text }}"
    item = dynamodb.get_item(TableName=TABLE, Key={"pk": {"S": "PROMPT#classifier"}, "sk": {"S": "V#00000001"}})
    assert item["Item"]["content_hash"]["S"] == content("A {{ text }}").content_hash


def test_unknown_prompts_and_versions_are_not_found(store: PromptStore) -> None:
    with pytest.raises(NotFoundError, match="prompt 'nope' does not exist"):
        store.get_version("nope", 1)
    store.register("classifier", content(), "alice")
    with pytest.raises(NotFoundError, match="prompt 'classifier' has no version 7"):
        store.get_version("classifier", 7)
    with pytest.raises(InvalidRequestError, match="version 0 is invalid"):
        store.get_version("classifier", 0)


def test_aliases_move_and_resolve(store: PromptStore) -> None:
    store.register("classifier", content("A {{ text }}"), "alice")
    store.register("classifier", content("B {{ text }}"), "alice")
    store.move_alias("classifier", "prod", 1, updated_by="alice")
    assert store.resolve("classifier", "prod").version == 1
    store.move_alias("classifier", "prod", 2, updated_by="bob", expected_version=1)
    assert store.get_alias("classifier", "prod").version == 2
    assert store.describe("classifier")["aliases"] == {"prod": 2}


def test_a_conditional_alias_move_refuses_a_stale_expectation(store: PromptStore) -> None:
    store.register("classifier", content("A {{ text }}"), "alice")
    store.register("classifier", content("B {{ text }}"), "alice")
    store.move_alias("classifier", "prod", 2, updated_by="alice")
    with pytest.raises(ConflictError, match="alias 'prod' of 'classifier' points to version 2, not 1; not moved"):
        store.move_alias("classifier", "prod", 1, updated_by="bob", expected_version=1)
    with pytest.raises(ConflictError, match="points to version 2, not nothing"):
        store.move_alias("classifier", "prod", 1, updated_by="bob", expected_version=0)
    assert store.get_alias("classifier", "prod").version == 2
    store.move_alias("classifier", "staging", 1, updated_by="bob", expected_version=0)


def test_an_alias_cannot_point_at_a_missing_version(store: PromptStore) -> None:
    store.register("classifier", content(), "alice")
    with pytest.raises(NotFoundError, match="has no version 9"):
        store.move_alias("classifier", "prod", 9, updated_by="alice")
    with pytest.raises(NotFoundError, match="prompt 'classifier' has no alias 'prod'"):
        store.get_alias("classifier", "prod")


def test_listing_is_paginated(store: PromptStore) -> None:
    for name in ("c-prompt", "a-prompt", "b-prompt"):
        store.register(name, content(), "alice")
    for i in range(5):
        store.register("a-prompt", content(f"{i} {{{{ text }}}}"), "alice")
    first = store.list_prompts(limit=2)
    assert [p["name"] for p in first.items] == ["a-prompt", "b-prompt"]
    assert first.next_token is not None
    second = store.list_prompts(limit=2, next_token=first.next_token)
    assert [p["name"] for p in second.items] == ["c-prompt"]
    versions = store.list_versions("a-prompt", limit=4)
    assert [v["version"] for v in versions.items] == [6, 5, 4, 3]
    rest = store.list_versions("a-prompt", limit=4, next_token=versions.next_token)
    assert [v["version"] for v in rest.items] == [2, 1]


@pytest.mark.parametrize("token", ["garbage!", "eyJ4IjogMX0=", "W10="])
def test_a_forged_page_token_is_refused(store: PromptStore, token: str) -> None:
    with pytest.raises(InvalidRequestError, match="next_token is invalid"):
        store.list_prompts(next_token=token)


@pytest.mark.parametrize("limit", [0, 101, "5", True])
def test_page_size_is_bounded(store: PromptStore, limit: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"limit .* is invalid"):
        store.list_prompts(limit=limit)
