"""Textract blocks to text in reading order, across result pages in any order."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from data_prep.textract_blocks import PAGE_SEPARATOR, assemble_text, page_count

FIXTURE = Path(__file__).parent / "fixtures" / "textract_two_column_two_pages.json"


def blocks() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())["Blocks"]


def test_lines_follow_each_pages_reading_order_and_pages_their_number() -> None:
    assert assemble_text(blocks()) == PAGE_SEPARATOR.join(
        [
            "Quarterly report\nLeft column first line\nLeft column second line\nRight column first line",
            "Page two heading\nClosing remarks",
        ]
    )
    assert page_count(blocks()) == 2


def test_block_order_in_the_response_does_not_matter() -> None:
    shuffled = blocks()
    random.Random(7).shuffle(shuffled)
    assert assemble_text(shuffled) == assemble_text(blocks())


def test_words_and_tables_do_not_duplicate_lines() -> None:
    text = assemble_text(blocks())
    assert text.count("Left column first line") == 1
    assert "Revenue" not in text.split(PAGE_SEPARATOR)[0].splitlines()[0]


def test_no_pages_is_empty_text() -> None:
    assert assemble_text([]) == ""
