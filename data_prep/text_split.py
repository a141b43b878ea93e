"""Splitting text into pieces that fit a byte limit without cutting a character in two.

Amazon Comprehend limits its synchronous inputs in UTF-8 bytes (100 KB for entities and PII).
Pieces end at the last whitespace before the limit when there is one, else at the last whole
character; joining the pieces gives back the original text exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

COMPREHEND_MAX_BYTES = 100_000
_WHITESPACE_LOOKBACK = 2_000


@dataclass(frozen=True)
class Piece:
    text: str
    offset: int  # character offset of the piece in the original text


def split_utf8(text: str, max_bytes: int = COMPREHEND_MAX_BYTES) -> list[Piece]:
    if max_bytes < 4:
        raise ValueError("max_bytes must be at least 4, the longest UTF-8 character")
    pieces: list[Piece] = []
    start = 0
    while start < len(text):
        end = _fitting_end(text, start, max_bytes)
        if end < len(text):
            space = text.rfind(" ", max(start + 1, end - _WHITESPACE_LOOKBACK), end)
            newline = text.rfind("\n", max(start + 1, end - _WHITESPACE_LOOKBACK), end)
            cut = max(space, newline)
            if cut > start:
                end = cut + 1
        pieces.append(Piece(text[start:end], start))
        start = end
    return pieces


def _fitting_end(text: str, start: int, max_bytes: int) -> int:
    """The largest ``end`` such that ``text[start:end]`` encodes to at most ``max_bytes``."""
    # Every character is 1 to 4 bytes: start from an optimistic guess and walk back.
    end = min(len(text), start + max_bytes)
    size = len(text[start:end].encode())
    while size > max_bytes:
        overshoot = size - max_bytes
        step = max(1, overshoot // 4)
        end -= step
        size -= len(text[end : end + step].encode())
    return end
