"""Prompt catalog benchmarks: render latency and the API handler's cold-start import time.

Render: p50/p99 of ``prompt_catalog.render.render`` (sandboxed Jinja2, variable checks,
few-shot structure) against ``str.format`` filling the same text, both in this run. Import: the
wall time of a fresh interpreter importing the API handler module against one importing only
boto3 (a bare handler), medians of ``--imports`` runs. Prints Markdown tables.

    python bench/prompt_render.py [--calls 5000] [--imports 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from prompt_catalog.model import PromptVersion, parse_content  # noqa: E402
from prompt_catalog.render import render  # noqa: E402

CONTENT = {
    "kind": "few-shot",
    "instructions": "Extract the vendor.",
    "template": "Document: {{ text }}\nVendor:",
    "variables": [{"name": "text"}],
    "examples": [{"input": "Invoice from ACME", "output": "ACME"}, {"input": "Bill by Initech", "output": "Initech"}],
}
FORMAT = (
    "Extract the vendor.\n\nExamples:\n\nInput: Invoice from ACME\nOutput: ACME\n\n"
    "Input: Bill by Initech\nOutput: Initech\n\nDocument: {text}\nVendor:"
)
VARIABLES = {"text": "Receipt #42 from Globex Corporation, total EUR 12.00"}


def _latencies(call: Callable[[], object], calls: int) -> list[float]:
    for _ in range(min(200, calls)):
        call()  # warm caches (compiled templates)
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        call()
        samples.append((time.perf_counter_ns() - start) / 1000)
    return sorted(samples)


def _percentile(samples: list[float], p: float) -> float:
    return samples[min(len(samples) - 1, int(len(samples) * p))]


def _import_seconds(statement: str, runs: int) -> float:
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}:{ROOT / 'lambda' / 'prompt_api'}",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "POWERTOOLS_METRICS_NAMESPACE": "Bench",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], env=env, check=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--imports", type=int, default=10)
    args = parser.parse_args()

    content = parse_content(CONTENT)
    prompt = PromptVersion("bench", 1, content, content.content_hash, "bench", "2026-01-01T00:00:00Z")
    assert render(prompt, VARIABLES).text == FORMAT.format(**VARIABLES)  # the same text, or the ratio means nothing
    rendered = _latencies(lambda: render(prompt, VARIABLES), args.calls)
    formatted = _latencies(lambda: FORMAT.format(**VARIABLES), args.calls)

    print(f"{args.calls} calls each, Python {sys.version.split()[0]}\n")
    print("| render | p50 (µs) | p99 (µs) | p50 ratio | p99 ratio |\n|---|---:|---:|---:|---:|")
    for name, samples in (("str.format (baseline)", formatted), ("prompt_catalog.render", rendered)):
        print(
            f"| {name} | {_percentile(samples, 0.5):.1f} | {_percentile(samples, 0.99):.1f} "
            f"| {_percentile(samples, 0.5) / _percentile(formatted, 0.5):.0f}x "
            f"| {_percentile(samples, 0.99) / _percentile(formatted, 0.99):.0f}x |"
        )

    bare = _import_seconds("import boto3", args.imports)
    handler = _import_seconds("import handler", args.imports)
    print(f"\nmedian of {args.imports} fresh interpreters\n")
    print("| import | seconds | ratio |\n|---|---:|---:|")
    print(f"| bare handler (boto3 only, baseline) | {bare:.3f} | 1.00x |")
    print(f"| lambda/prompt_api/handler.py | {handler:.3f} | {handler / bare:.2f}x |")


if __name__ == "__main__":
    main()
