"""Training examples from the preprocessing job's JSONL, shared by the training and evaluation jobs.

A record is plain text (``text``) or an instruction pair (``instruction``, optional ``input``,
``response``). Instruction pairs are rendered with one prompt template; only the response
tokens carry a loss, so the model learns to answer rather than to repeat the question.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

IGNORE_INDEX = -100
PROMPT_TEMPLATE = "### Instruction:\n{instruction}\n\n{input_block}### Response:\n"


class Tokenizer(Protocol):
    eos_token_id: int | None
    bos_token_id: int | None

    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


@dataclass(frozen=True)
class Example:
    input_ids: list[int]
    labels: list[int]

    @property
    def trained_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def prompt_of(record: dict[str, str]) -> str:
    """The text the model is given; empty for plain-text records."""
    if "instruction" not in record:
        return ""
    extra = record.get("input", "")
    return PROMPT_TEMPLATE.format(instruction=record["instruction"], input_block=f"{extra}\n\n" if extra else "")


def target_of(record: dict[str, str]) -> str:
    """The text the model learns to produce."""
    return record.get("response", record.get("text", ""))


def read_jsonl(path: Path) -> list[dict[str, str]]:
    files = sorted(path.rglob("*.jsonl")) if path.is_dir() else [path]
    records: list[dict[str, str]] = []
    for file in files:
        with file.open(encoding="utf-8") as lines:
            records.extend(json.loads(line) for line in lines if line.strip())
    return records


def encode(record: dict[str, str], tokenizer: Tokenizer, max_length: int) -> Example | None:
    """Token ids and labels of one record, truncated to ``max_length``; None if no target survives."""
    prompt_ids = tokenizer.encode(prompt_of(record), add_special_tokens=False) if prompt_of(record) else []
    target_ids = tokenizer.encode(target_of(record), add_special_tokens=False)
    if tokenizer.eos_token_id is not None:
        target_ids = [*target_ids, tokenizer.eos_token_id]
    bos = [tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []
    input_ids = (bos + prompt_ids + target_ids)[:max_length]
    labels = ([IGNORE_INDEX] * (len(bos) + len(prompt_ids)) + target_ids)[:max_length]
    example = Example(input_ids=input_ids, labels=labels)
    return example if example.trained_tokens else None


def encode_all(records: Sequence[dict[str, str]], tokenizer: Tokenizer, max_length: int) -> list[Example]:
    return [example for record in records if (example := encode(record, tokenizer, max_length)) is not None]


def batches(examples: Sequence[Example], indices: Sequence[int], batch_size: int) -> Iterator[list[Example]]:
    for start in range(0, len(indices), batch_size):
        yield [examples[index] for index in indices[start : start + batch_size]]


def collate(batch: Sequence[Example], pad_token_id: int) -> dict[str, Any]:
    """Right-padded tensors: ``input_ids``, ``attention_mask`` and ``labels`` (padding ignored)."""
    import torch

    width = max(len(example.input_ids) for example in batch)
    input_ids, attention_mask, labels = [], [], []
    for example in batch:
        padding = width - len(example.input_ids)
        input_ids.append(example.input_ids + [pad_token_id] * padding)
        attention_mask.append([1] * len(example.input_ids) + [0] * padding)
        labels.append(example.labels + [IGNORE_INDEX] * padding)
    return {
        "input_ids": torch.tensor(input_ids),
        "attention_mask": torch.tensor(attention_mask),
        "labels": torch.tensor(labels),
    }


def mean_token_loss(model: Any, examples: Sequence[Example], batch_size: int, pad_token_id: int, device: Any) -> float:
    """Loss per trained token over ``examples`` (its exponential is the perplexity)."""
    import torch

    was_training = model.training
    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for batch in batches(examples, range(len(examples)), batch_size):
            inputs = {key: value.to(device) for key, value in collate(batch, pad_token_id).items()}
            count = sum(example.trained_tokens for example in batch)
            total += float(model(**inputs).loss) * count
            tokens += count
    model.train(was_training)
    return total / tokens if tokens else float("nan")
