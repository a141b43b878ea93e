"""UTF-8 splitting for Comprehend: within the byte limit, whole characters, nothing lost."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from data_prep.text_split import split_utf8


@settings(max_examples=300, deadline=None)
@given(text=st.text(min_size=0, max_size=400), max_bytes=st.integers(4, 64))
def test_pieces_fit_join_back_and_keep_their_offsets(text: str, max_bytes: int) -> None:
    pieces = split_utf8(text, max_bytes)
    assert "".join(piece.text for piece in pieces) == text
    for piece in pieces:
        assert 0 < len(piece.text.encode()) <= max_bytes
        assert text[piece.offset : piece.offset + len(piece.text)] == piece.text
        piece.text.encode().decode()  # every piece is valid UTF-8 on its own


def test_multibyte_characters_are_never_cut() -> None:
    text = "é" * 10 + "😀" * 10  # 2-byte and 4-byte characters
    pieces = split_utf8(text, 7)
    assert [len(p.text.encode()) for p in pieces][:3] == [6, 6, 6]
    assert all(len(p.text.encode()) <= 7 for p in pieces)
    assert "".join(p.text for p in pieces) == text


def test_pieces_end_at_whitespace_when_they_can() -> None:
    pieces = split_utf8("alpha beta gamma delta", 12)
    assert [p.text for p in pieces] == ["alpha beta ", "gamma delta"]


def test_comprehend_sized_input_splits_into_few_pieces() -> None:
    text = ("Ünïcödé wörds and plain words. " * 10_000).strip()
    pieces = split_utf8(text)
    fewest = -(-len(text.encode()) // 100_000)
    assert len(pieces) in {fewest, fewest + 1}  # whitespace cuts may cost one piece
    assert all(len(p.text.encode()) <= 100_000 for p in pieces)


def test_a_limit_below_one_character_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        split_utf8("x", 3)
