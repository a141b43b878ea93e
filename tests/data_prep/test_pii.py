"""PII redaction by offsets, across pieces, with overlaps merged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from data_prep.pii import Entity, entities_from_comprehend, redact

TEXT = "Call Jane Doe at 555-0100 or jane@example.com."
RESPONSE = {
    "Entities": [
        {"Type": "NAME", "BeginOffset": 5, "EndOffset": 13, "Score": 0.99},
        {"Type": "PHONE", "BeginOffset": 17, "EndOffset": 25, "Score": 0.98},
        {"Type": "EMAIL", "BeginOffset": 29, "EndOffset": 45, "Score": 0.4},
    ]
}


def test_mask_replaces_entities_with_their_type() -> None:
    assert redact(TEXT, entities_from_comprehend(RESPONSE)) == "Call [NAME] at [PHONE] or [EMAIL]."


def test_drop_removes_them_and_low_scores_can_be_ignored() -> None:
    entities = entities_from_comprehend(RESPONSE, min_score=0.5)
    assert redact(TEXT, entities, mode="drop") == "Call  at  or jane@example.com."


def test_offsets_of_a_later_piece_are_shifted() -> None:
    prefix = "x" * 100
    entities = entities_from_comprehend(RESPONSE, piece_offset=len(prefix))
    assert redact(prefix + TEXT, entities) == prefix + "Call [NAME] at [PHONE] or [EMAIL]."


def test_overlapping_entities_are_redacted_once() -> None:
    entities = [Entity(5, 13, "NAME"), Entity(10, 25, "ADDRESS")]
    assert redact(TEXT, entities) == "Call [NAME] or jane@example.com."


def test_unknown_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="'blur' is not 'mask' or 'drop'"):
        redact(TEXT, [], mode="blur")  # type: ignore[arg-type]


@given(st.text(max_size=60), st.lists(st.tuples(st.integers(0, 70), st.integers(0, 70)), max_size=6))
def test_dropping_never_leaves_an_entity_character(text: str, spans: list[tuple[int, int]]) -> None:
    entities = [Entity(min(a, b), max(a, b), "X") for a, b in spans]
    kept = [i for i in range(len(text)) if not any(e.begin <= i < e.end for e in entities)]
    assert redact(text, entities, mode="drop") == "".join(text[i] for i in kept)
