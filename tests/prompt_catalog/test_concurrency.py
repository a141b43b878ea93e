"""Concurrent writers against moto: no version is lost or overwritten, aliases move atomically.

DynamoDB executes each request atomically; moto does not promise that under threads, so the
``atomic_requests`` fixture serializes individual requests (never a writer's sequence of
requests). Every writer first reads, then waits at a barrier until all writers have read, so
all of them race on the same stale state: a writer that trusted its read would overwrite
another's version, as the naive store below shows.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto.core.botocore_stubber import BotocoreStubber

from prompt_catalog.errors import ConflictError
from prompt_catalog.model import PromptVersion
from prompt_catalog.store import PromptStore
from tests.prompt_catalog.conftest import REGION, TABLE, content

WRITERS = 32


@pytest.fixture
def atomic_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = threading.Lock()
    original = BotocoreStubber.__call__

    def serialized(self: BotocoreStubber, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return original(self, *args, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", serialized)


class _RaceAfterFirstRead:
    """A DynamoDB client whose first write of each writer waits until every writer has read."""

    def __init__(self, client: Any, barrier: threading.Barrier) -> None:
        self._client, self._barrier, self._waited = client, barrier, False

    def _wait_once(self) -> None:
        if not self._waited:
            self._waited = True
            self._barrier.wait(timeout=30)

    def transact_write_items(self, **kwargs: Any) -> Any:
        self._wait_once()
        return self._client.transact_write_items(**kwargs)

    def put_item(self, **kwargs: Any) -> Any:
        self._wait_once()
        return self._client.put_item(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class NaiveStore(PromptStore):
    """What the store would be without its conditions: trusts the number it read."""

    def _new_version_writes(self, version: PromptVersion, latest: int) -> list[dict[str, Any]]:
        writes = super()._new_version_writes(version, latest)
        for write in writes:
            operation = write.get("Put") or write["Update"]
            operation.pop("ConditionExpression", None)
            operation.get("ExpressionAttributeValues", {}).pop(":latest", None)
        return writes


def race(store_type: type[PromptStore], work: Callable[[PromptStore, int], Any]) -> list[Any]:
    barrier = threading.Barrier(WRITERS)
    stores = [
        store_type(_RaceAfterFirstRead(boto3.client("dynamodb", region_name=REGION), barrier), TABLE)
        for _ in range(WRITERS)
    ]
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        futures = [pool.submit(work, stores[i], i) for i in range(WRITERS)]
        return [future.exception() or future.result() for future in futures]


def lost_or_duplicated(store: PromptStore, results: list[Any]) -> list[str]:
    """Problems a client would see: a returned version that does not hold its writer's content."""
    problems = []
    returned = [r.version.version for r in results]
    if sorted(returned) != list(range(1, WRITERS + 1)):
        problems.append(f"versions returned: {sorted(returned)}")
    for writer, result in enumerate(results):
        stored = store.get_version("shared", result.version.version).content.template
        if stored != f"writer {writer}: {{{{ text }}}}":
            problems.append(f"writer {writer}'s version {result.version.version} holds {stored!r}")
    if store.describe("shared")["latest_version"] != WRITERS:
        problems.append(f"latest is {store.describe('shared')['latest_version']}")
    return problems


def register(store: PromptStore, writer: int) -> Any:
    return store.register("shared", content(f"writer {writer}: {{{{ text }}}}"), f"writer-{writer}")


def test_concurrent_writers_get_distinct_consecutive_versions(
    dynamodb: Any, store: PromptStore, atomic_requests: None
) -> None:
    results = race(PromptStore, register)
    assert all(r.created for r in results), [r for r in results if isinstance(r, Exception)]
    assert lost_or_duplicated(store, results) == []


def test_the_race_harness_catches_a_store_that_loses_versions(
    dynamodb: Any, store: PromptStore, atomic_requests: None
) -> None:
    results = race(NaiveStore, register)
    assert lost_or_duplicated(store, results) != []


def test_concurrent_identical_registrations_create_one_version(
    dynamodb: Any, store: PromptStore, atomic_requests: None
) -> None:
    results = race(PromptStore, lambda s, _: s.register("shared", content("same {{ text }}"), "anyone"))
    assert {r.version.version for r in results} == {1}
    assert sum(r.created for r in results) == 1
    assert store.describe("shared")["latest_version"] == 1


def test_conditional_alias_moves_let_exactly_one_writer_win(
    dynamodb: Any, store: PromptStore, atomic_requests: None
) -> None:
    for writer in range(WRITERS):
        register(store, writer)
    store.move_alias("shared", "prod", 1, updated_by="setup")
    results = race(
        PromptStore,
        lambda s, w: s.move_alias("shared", "prod", w + 1, updated_by=f"writer-{w}", expected_version=1),
    )
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1
    assert all(isinstance(r, ConflictError) for r in results if r not in winners)
    assert store.get_alias("shared", "prod").version == winners[0].version
