"""Evaluation job of the fine-tuning pipeline: the trained model against the held-out split.

Reads the training job's ``model.tar.gz`` (``--model``), the base model (``--base_model``, for
adapters that are not merged) and ``test.jsonl`` (``--test``). Computes perplexity on every
test record, and on instruction records greedy answers scored against the reference responses
(ROUGE-L, BLEU). Writes ``evaluation.json``: ``{"metrics": {name: {"value": v}}, ...}``, the
report the pipeline's quality condition reads and the model registry stores. A new metric is a
new entry in ``REFERENCE_METRICS`` (scored on answers) or another key of ``metrics``.

    python evaluate.py --model /opt/ml/processing/model --base_model /opt/ml/processing/base \
        --test /opt/ml/processing/test --output /opt/ml/processing/evaluation
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tarfile
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pipelines.scripts.finetune_data import encode_all, mean_token_loss, prompt_of, read_jsonl
from pipelines.scripts.finetune_methods import load_trained
from pipelines.scripts.text_metrics import bleu, rouge_l

REPORT_FILE = "evaluation.json"
REPORT_VERSION = 1
REFERENCE_METRICS: dict[str, Callable[[Sequence[str], Sequence[str]], float]] = {"rouge_l": rouge_l, "bleu": bleu}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, required=True, help="model.tar.gz, or a folder holding it or the model")
    parser.add_argument("--base_model", type=Path, default=None)
    parser.add_argument("--test", type=Path, required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--max_seq_length", type=int, default=1024)
    parser.add_argument("--max_new_tokens", type=int, default=128)
    parser.add_argument("--max_generations", type=int, default=200, help="answers generated for ROUGE-L and BLEU")
    parser.add_argument("--batch_size", type=int, default=4)
    return parser.parse_args(argv)


def unpacked(model: Path, scratch: Path) -> Path:
    """The model folder: ``model`` itself, or where its ``model.tar.gz`` was extracted."""
    archive = model if model.is_file() else model / "model.tar.gz"
    if not archive.exists():
        return model
    with tarfile.open(archive) as tar:
        tar.extractall(scratch, filter="data")
    return scratch


def generate_answers(model: Any, tokenizer: Any, prompts: Sequence[str], max_new_tokens: int, device: Any) -> list[str]:
    """Greedy answers, one prompt at a time (no padding side effects on small models)."""
    import torch

    answers = []
    with torch.no_grad():
        for prompt in prompts:
            prompt_ids = tokenizer.encode(prompt, add_special_tokens=False)
            if tokenizer.bos_token_id is not None:
                prompt_ids = [tokenizer.bos_token_id, *prompt_ids]
            input_ids = torch.tensor([prompt_ids], device=device)
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id,
            )
            answers.append(tokenizer.decode(output[0, len(prompt_ids) :], skip_special_tokens=True).strip())
    return answers


def evaluate(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from transformers import AutoTokenizer

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    records = read_jsonl(args.test)
    if not records:
        raise ValueError(f"no test records under {args.test}")
    with tempfile.TemporaryDirectory() as scratch:
        model_dir = unpacked(args.model, Path(scratch))
        model = load_trained(model_dir, args.base_model, device)
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

        examples = encode_all(records, tokenizer, args.max_seq_length)
        loss = mean_token_loss(model, examples, args.batch_size, pad, device)
        metrics: dict[str, dict[str, float]] = {"perplexity": {"value": math.exp(min(loss, 50.0))}}

        pairs = [record for record in records if prompt_of(record)][: args.max_generations]
        answers = generate_answers(model, tokenizer, [prompt_of(r) for r in pairs], args.max_new_tokens, device)
    references = [record["response"] for record in pairs]
    if pairs:
        for name, metric in REFERENCE_METRICS.items():
            metrics[name] = {"value": metric(answers, references)}
    return {
        "version": REPORT_VERSION,
        "metrics": metrics,
        "samples": {"test_records": len(records), "scored_tokens": sum(e.trained_tokens for e in examples)},
        "generations": {
            "scored": len(pairs),
            "examples": [{"answer": a, "reference": r} for a, r in zip(answers[:5], references[:5], strict=True)],
        },
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    report = evaluate(args)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / REPORT_FILE).write_text(json.dumps(report, indent=2, sort_keys=True))
    print(json.dumps(report["metrics"], sort_keys=True), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
