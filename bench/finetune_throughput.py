"""Fine-tuning benchmark: training throughput of every method against full fine-tuning, on the CPU.

Each method trains the same small random Llama (``pipelines/tiny_llama.py``) on the same
generated instruction records through the real training script, for the same number of
optimizer steps. Throughput is trained (response) tokens per second of the training loop,
model loading excluded; full fine-tuning, measured in the same run, is the baseline. Prints a
Markdown table with trainable parameter counts. Median of ``--repeat`` runs per method.

    python bench/finetune_throughput.py [--steps 20] [--repeat 3] [--hidden 256] [--layers 4]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import random
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipelines.scripts import train  # noqa: E402
from pipelines.scripts.finetune_methods import METHODS  # noqa: E402
from pipelines.tiny_llama import save_tiny_llama  # noqa: E402

WORDS = [f"word{index}" for index in range(400)]


def records(count: int, seed: int = 3) -> list[dict[str, str]]:
    rng = random.Random(seed)
    return [
        {
            "instruction": " ".join(rng.choices(WORDS, k=rng.randint(10, 30))),
            "response": " ".join(rng.choices(WORDS, k=rng.randint(40, 80))),
        }
        for _ in range(count)
    ]


def run(workspace: Path, method: str, steps: int, attempt: int) -> tuple[float, int, int]:
    """(trained tokens per second, trainable parameters, total parameters) of one run."""
    with contextlib.redirect_stdout(io.StringIO()):  # the script's metric lines
        result = train.train(
            train.parse_args(
            [
                "--train", str(workspace / "data"), "--validation", str(workspace / "data"),
                "--model_dir", str(workspace / "base"),
                "--output_dir", str(workspace / f"{method}-{attempt}" / "model"),
                "--checkpoint_dir", str(workspace / f"{method}-{attempt}" / "checkpoints"),
                "--method", method, "--accelerator", "cpu", "--max_steps", str(steps), "--epochs", "100",
                "--per_device_batch_size", "4", "--checkpoint_every", str(steps * 10), "--log_every", str(steps * 10),
                "--merge_weights", "false",
                ]
            )
        )  # fmt: skip
    assert result.saved is not None
    return result.tokens_per_second, result.saved.trainable_parameters, result.saved.total_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    args = parser.parse_args()

    data = records(64)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        corpus = [f"{r['instruction']} {r['response']}" for r in data] + ["### Instruction:\n\n### Response:\n"]
        save_tiny_llama(workspace / "base", corpus, hidden_size=args.hidden, layers=args.layers, heads=8)
        (workspace / "data").mkdir()
        (workspace / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
        rows = {}
        for method in METHODS:
            runs = [run(workspace, method, args.steps, attempt) for attempt in range(args.repeat)]
            rows[method] = (statistics.median(r[0] for r in runs), runs[0][1], runs[0][2])

    baseline = rows["full"][0]
    print(
        f"Llama, hidden {args.hidden}, {args.layers} layers; batch 4; {args.steps} steps; "
        f"median of {args.repeat}; CPU, {__import__('torch').get_num_threads()} threads\n"
    )
    print("| method | tokens/s | vs full | trainable parameters | of total |")
    print("|---|---:|---:|---:|---:|")
    for method, (speed, trainable, total) in rows.items():
        print(f"| {method} | {speed:,.0f} | {speed / baseline:.2f}x | {trainable:,} | {trainable / total:.2%} |")


if __name__ == "__main__":
    main()
