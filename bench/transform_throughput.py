"""Data preparation benchmark: the transform's throughput against a plain copy of the same data.

Both run in this process over the same generated documents (paragraphs of mixed ASCII and
accented text). The transform is what the workflow's transform step does to a document's text
without its S3 and DynamoDB calls: normalise, fingerprint, chunk, build fine-tuning and retrieval
records with lineage, serialise JSONL. The baseline copies the text (encode and decode).
Prints a Markdown table.

    python bench/transform_throughput.py [--documents 200] [--paragraphs 40] [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data_prep.records import (  # noqa: E402
    Lineage,
    content_hash,
    fine_tuning_records,
    normalise,
    retrieval_records,
    to_jsonl,
)
from data_prep.text_split import split_utf8  # noqa: E402

WORDS = ["invoice", "réseau", "latency", "Übersicht", "token", "model", "garçon", "pipeline", "ACME", "2026"]


def documents(count: int, paragraphs: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    return [
        "\n\n".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 120))) for _ in range(paragraphs))
        for _ in range(count)
    ]


def transform(text: str) -> int:
    clean = normalise(text)
    split_utf8(clean)
    lineage = Lineage("raw", "incoming/bench/doc.txt", "v1", "arn:exec", "2026-01-01T00:00:00Z", content_hash(clean))
    records = fine_tuning_records(clean, lineage) + retrieval_records(
        clean, lineage, document_id="doc", metadata={"dataset": "bench"}
    )
    to_jsonl(records)
    return len(records)


def copy(text: str) -> int:
    return len(text.encode().decode())


def seconds(work: Callable[[str], int], docs: list[str], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        for doc in docs:
            work(doc)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=200)
    parser.add_argument("--paragraphs", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    docs = documents(args.documents, args.paragraphs)
    megabytes = sum(len(doc.encode()) for doc in docs) / 1e6
    records = sum(transform(doc) for doc in docs)
    baseline = seconds(copy, docs, args.repeat)
    measured = seconds(transform, docs, args.repeat)
    print(f"{args.documents} documents, {megabytes:.1f} MB, median of {args.repeat} runs\n")
    print(f"| work | documents/s | records/s ({records} records) | MB/s | time ratio |\n|---|---:|---:|---:|---:|")
    for name, value in (("plain copy (baseline)", baseline), ("transform to curated JSONL", measured)):
        print(
            f"| {name} | {args.documents / value:,.0f} | {records / value:,.0f} | {megabytes / value:,.1f} "
            f"| {value / baseline:.0f}x |"
        )


if __name__ == "__main__":
    main()
