"""One JSON snapshot per stack and environment (asset hashes masked). `pytest --snapshot-update` renews them."""

from __future__ import annotations

import pytest
from syrupy.assertion import SnapshotAssertion
from syrupy.extensions.json import JSONSnapshotExtension

from tests.conftest import ENVIRONMENTS, STACKS, SynthesizedPlatform, mask_asset_hashes


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_template_matches_snapshot(
    platform: SynthesizedPlatform, snapshot: SnapshotAssertion, env: str, stack: str
) -> None:
    template = mask_asset_hashes(platform.template_json(env, stack))
    assert template == snapshot(extension_class=JSONSnapshotExtension)
