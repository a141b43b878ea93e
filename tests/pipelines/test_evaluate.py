"""The evaluation script on models trained by the training script: the report the quality gate reads."""

from __future__ import annotations

import json
import math
import tarfile
from pathlib import Path

import pytest

from pipelines.scripts import evaluate, train
from pipelines.tiny_llama import save_tiny_llama
from tests.pipelines.tiny_data import CORPUS, RECORDS, write_jsonl


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evaluate")
    save_tiny_llama(root / "base", CORPUS)
    write_jsonl(root / "data" / "train.jsonl", RECORDS)
    for method, learning_rate in (("full", "0.02"), ("prefix-tuning", "0.1")):
        train.train(
            train.parse_args(
                [
                    "--train", str(root / "data"), "--validation", str(root / "data"),
                    "--model_dir", str(root / "base"), "--output_dir", str(root / method),
                    "--checkpoint_dir", str(root / f"{method}-checkpoints"), "--method", method,
                    "--epochs", "40" if method == "full" else "1", "--learning_rate", learning_rate,
                    "--warmup_ratio", "0", "--accelerator", "cpu", "--log_every", "1000",
                ]
            )
        )  # fmt: skip
        with tarfile.open(root / f"{method}.tar.gz", "w:gz") as tar:  # what SageMaker uploads
            for path in sorted((root / method).rglob("*")):
                tar.add(path, arcname=str(path.relative_to(root / method)), recursive=False)
    return root


def run(workspace: Path, model: str, test: Path, *extra: str) -> dict[str, object]:
    output = workspace / "reports" / model
    code = evaluate.main(
        ["--model", str(workspace / f"{model}.tar.gz"), "--test", str(test), "--output", str(output),
         "--max_new_tokens", "8", *extra]
    )  # fmt: skip
    assert code == 0
    report: dict[str, object] = json.loads((output / evaluate.REPORT_FILE).read_text())
    return report


def test_a_memorised_model_scores_high_on_what_it_memorised(workspace: Path) -> None:
    report = run(workspace, "full", workspace / "data")
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    assert set(metrics) == {"perplexity", "rouge_l", "bleu"}
    assert metrics["perplexity"]["value"] < 3
    assert metrics["rouge_l"]["value"] > 0.6
    assert 0 < metrics["bleu"]["value"] <= 1
    assert report["samples"] == {"test_records": 8, "scored_tokens": 48}  # 8 answers of 5 words and an end token


def test_an_adapter_is_evaluated_over_its_base_model(workspace: Path) -> None:
    unseen = write_jsonl(
        workspace / "unseen" / "test.jsonl", [{"instruction": "What colour is item 9?", "response": "Item 9 is red."}]
    )
    report = run(workspace, "prefix-tuning", unseen, "--base_model", str(workspace / "base"))
    metrics = report["metrics"]
    assert isinstance(metrics, dict)
    assert math.isfinite(metrics["perplexity"]["value"]) and metrics["perplexity"]["value"] > 3
    assert 0 <= metrics["rouge_l"]["value"] < 0.8
    with pytest.raises(ValueError, match="base model is needed"):
        run(workspace, "prefix-tuning", unseen)


def test_plain_text_records_give_perplexity_only(workspace: Path) -> None:
    text = write_jsonl(workspace / "text" / "test.jsonl", [{"text": "Item 1 is green."}])
    report = run(workspace, "full", text)
    assert report["metrics"].keys() == {"perplexity"}  # type: ignore[attr-defined]


def test_an_empty_test_split_is_an_error(workspace: Path) -> None:
    empty = workspace / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no test records"):
        run(workspace, "full", empty)
