"""Fine-tuning benchmark: training throughput of every method against full fine-tuning, on the CPU.

Each method trains the same small random Llama (``pipelines/tiny_llama.py``) on the same
generated instruction records through the real training script, for the same number of
optimizer steps. Throughput is trained (response) tokens per second of the training loop,
model loading excluded; full fine-tuning, measured in the same run, is the baseline. Prints a
Markdown table with trainable parameter counts. Median of ``--repeat`` runs per method.

On a GPU machine (``--accelerator gpu``) it also reports each method's peak GPU memory; that is
the script for the GPU figures of LoRA and QLoRA (``--methods full,lora,qlora``).

    python bench/finetune_throughput.py [--steps 20] [--repeat 3] [--hidden 256] [--layers 4]
        [--accelerator cpu|gpu] [--methods full,lora,...]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
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


def run(workspace: Path, method: str, steps: int, attempt: int, accelerator: str) -> tuple[float, int, int, float]:
    """(trained tokens per second, trainable parameters, total parameters, peak GPU GiB) of one run."""
    import torch

    if accelerator == "gpu":
        torch.cuda.reset_peak_memory_stats()
    with contextlib.redirect_stdout(io.StringIO()):  # the script's metric lines
        result = train.train(
            train.parse_args(
            [
                "--train", str(workspace / "data"), "--validation", str(workspace / "data"),
                "--model_dir", str(workspace / "base"),
                "--output_dir", str(workspace / f"{method}-{attempt}" / "model"),
                "--checkpoint_dir", str(workspace / f"{method}-{attempt}" / "checkpoints"),
                "--method", method, "--accelerator", accelerator, "--max_steps", str(steps), "--epochs", "100",
                "--per_device_batch_size", "4", "--checkpoint_every", str(steps * 10), "--log_every", str(steps * 10),
                "--merge_weights", "false",
                ]
            )
        )  # fmt: skip
    assert result.saved is not None
    peak = torch.cuda.max_memory_allocated() / 2**30 if accelerator == "gpu" else float("nan")
    return result.tokens_per_second, result.saved.trainable_parameters, result.saved.total_parameters, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--accelerator", choices=("cpu", "gpu"), default="cpu")
    parser.add_argument("--methods", default=",".join(METHODS), help="comma-separated; full is always run")
    args = parser.parse_args()
    methods = ["full", *(m for m in args.methods.split(",") if m and m != "full")]

    data = records(64)
    with tempfile.TemporaryDirectory() as scratch:
        workspace = Path(scratch)
        corpus = [f"{r['instruction']} {r['response']}" for r in data] + ["### Instruction:\n\n### Response:\n"]
        save_tiny_llama(workspace / "base", corpus, hidden_size=args.hidden, layers=args.layers, heads=8)
        (workspace / "data").mkdir()
        (workspace / "data" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in data))
        rows = {}
        for method in methods:
            runs = [run(workspace, method, args.steps, attempt, args.accelerator) for attempt in range(args.repeat)]
            rows[method] = (statistics.median(r[0] for r in runs), runs[0][1], runs[0][2], max(r[3] for r in runs))

    baseline = rows["full"][0]
    print(
        f"Llama, hidden {args.hidden}, {args.layers} layers; batch 4; {args.steps} steps; "
        f"median of {args.repeat}; {device_name(args.accelerator)}\n"
    )
    print("| method | tokens/s | vs full | trainable parameters | of total | peak GPU memory (GiB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for method, (speed, trainable, total, peak) in rows.items():
        print(
            f"| {method} | {speed:,.0f} | {speed / baseline:.2f}x | {trainable:,} | {trainable / total:.2%} | "
            f"{'-' if math.isnan(peak) else f'{peak:.2f}'} |"
        )


def device_name(accelerator: str) -> str:
    import torch

    if accelerator == "gpu":
        return torch.cuda.get_device_name()
    return f"CPU, {torch.get_num_threads()} threads"


if __name__ == "__main__":
    main()
