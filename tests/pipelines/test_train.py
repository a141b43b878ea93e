"""The training script, every method on a tiny random Llama on the CPU: it learns, saves, reloads, resumes."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest
import torch

from pipelines.scripts import train as train_script
from pipelines.scripts.finetune_methods import (
    METHODS,
    MODEL_CARD,
    MethodSettings,
    build_model,
    load_base,
    load_trained,
)
from pipelines.tiny_llama import save_tiny_llama
from tests.pipelines.tiny_data import CORPUS, RECORDS, write_jsonl

PEFT_METHODS = tuple(method for method in METHODS if method != "full")
LEARNING_RATES = {"full": "0.02", "lora": "0.01", "qlora": "0.01"} | dict.fromkeys(PEFT_METHODS[2:], "0.1")
# Mean of the last five losses over the first five. Prompt-based methods steer a frozen random
# model only through attention, so they fall least; a method whose weights do not train stays at 1.
MOST_LOSS_LEFT = {"full": 0.5, "lora": 0.9, "qlora": 0.9} | dict.fromkeys(PEFT_METHODS[2:], 0.97)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("finetune")
    save_tiny_llama(root / "base", CORPUS)
    write_jsonl(root / "train" / "train.jsonl", RECORDS)
    write_jsonl(root / "validation" / "validation.jsonl", RECORDS[:2])
    return root


def arguments(workspace: Path, name: str, method: str, *extra: str) -> list[str]:
    return [
        "--train", str(workspace / "train"),
        "--validation", str(workspace / "validation"),
        "--model_dir", str(workspace / "base"),
        "--output_dir", str(workspace / name / "model"),
        "--checkpoint_dir", str(workspace / name / "checkpoints"),
        "--method", method,
        "--accelerator", "cpu",
        "--epochs", "20",
        "--per_device_batch_size", "4",
        "--learning_rate", LEARNING_RATES[method],
        "--warmup_ratio", "0",
        "--lora_rank", "4",
        "--virtual_tokens", "16",
        "--adapter_len", "16",
        "--log_every", "1000",
        *extra,
    ]  # fmt: skip


def run(workspace: Path, name: str, method: str, *extra: str) -> train_script.TrainingResult:
    return train_script.train(train_script.parse_args(arguments(workspace, name, method, *extra)))


@pytest.fixture(scope="module")
def trained(workspace: Path) -> dict[str, train_script.TrainingResult]:
    return {method: run(workspace, method, method) for method in METHODS}


def logits(model: Any, workspace: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(workspace / "base")
    input_ids = torch.tensor([tokenizer.encode(CORPUS[0])])
    model.eval()
    with torch.no_grad():
        return model(input_ids=input_ids, attention_mask=torch.ones_like(input_ids)).logits


@pytest.mark.parametrize("method", METHODS)
def test_each_method_learns_the_memorisation_set(trained: dict[str, train_script.TrainingResult], method: str) -> None:
    losses = trained[method].losses
    assert len(losses) == 40
    assert all(math.isfinite(loss) for loss in losses)
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < MOST_LOSS_LEFT[method] * first, f"{method}: loss {first:.3f} -> {last:.3f}"


@pytest.mark.parametrize("method", METHODS)
def test_only_the_method_s_weights_train(trained: dict[str, train_script.TrainingResult], method: str) -> None:
    saved = trained[method].saved
    assert saved is not None
    if method == "full":
        assert saved.trainable_parameters == saved.total_parameters
    else:
        assert 0 < saved.trainable_parameters < saved.total_parameters / 4


def test_qlora_trains_over_a_4bit_nf4_base(workspace: Path) -> None:
    import bitsandbytes as bnb

    model = build_model(workspace / "base", "qlora", MethodSettings(lora_rank=4), torch.device("cpu"))
    quantized = [module for module in model.modules() if isinstance(module, bnb.nn.Linear4bit)]
    assert quantized
    assert {module.weight.quant_state.quant_type for module in quantized} == {"nf4"}
    assert not any(parameter.requires_grad for module in quantized for parameter in module.parameters())
    assert any(parameter.requires_grad for name, parameter in model.named_parameters() if "lora_" in name)


@pytest.mark.parametrize("method", PEFT_METHODS)
def test_adapters_save_and_reload_to_the_same_outputs(
    trained: dict[str, train_script.TrainingResult], workspace: Path, method: str
) -> None:
    adapter_dir = workspace / method / "model" / "adapter"
    assert (adapter_dir / "adapter_config.json").exists()
    from peft import PeftModel

    base = load_base(workspace / "base", method, torch.device("cpu"))  # 4-bit again for QLoRA
    without_adapter = logits(base, workspace)
    reloaded = logits(PeftModel.from_pretrained(base, adapter_dir), workspace)
    # bitsandbytes' CPU kernel repacks 4-bit weights after the first call: last bits differ.
    tolerance = 2e-3 if method == "qlora" else 1e-5
    torch.testing.assert_close(reloaded, logits(trained[method].model, workspace), atol=tolerance, rtol=tolerance)
    text_positions = reloaded[:, -without_adapter.shape[1] :]  # prompt tuning prepends its virtual tokens
    assert (text_positions - without_adapter).abs().max() > 20 * tolerance


def test_lora_merged_weights_give_the_adapted_model_s_logits(
    trained: dict[str, train_script.TrainingResult], workspace: Path
) -> None:
    output = workspace / "lora" / "model"
    assert json.loads((output / MODEL_CARD).read_text())["layout"] == "merged"
    merged = load_trained(output, None, torch.device("cpu"))
    assert not hasattr(merged, "peft_config")
    torch.testing.assert_close(
        logits(merged, workspace), logits(trained["lora"].model, workspace), atol=1e-5, rtol=1e-5
    )


def test_methods_that_cannot_merge_keep_the_adapter_layout(
    trained: dict[str, train_script.TrainingResult], workspace: Path
) -> None:
    for method in ("prompt-tuning", "prefix-tuning", "llama-adapter"):
        card = json.loads((workspace / method / "model" / MODEL_CARD).read_text())
        assert card["layout"] == "adapter"
        assert not (workspace / method / "model" / "model.safetensors").exists()
        with pytest.raises(ValueError, match="base model is needed"):
            load_trained(workspace / method / "model", None, torch.device("cpu"))


def test_full_fine_tuning_saves_a_servable_model(
    trained: dict[str, train_script.TrainingResult], workspace: Path
) -> None:
    output = workspace / "full" / "model"
    for name in ("config.json", "model.safetensors", "tokenizer.json", "training_report.json"):
        assert (output / name).exists(), name
    report = json.loads((output / "training_report.json").read_text())
    assert report["steps"] == 40
    assert report["validation_loss"] < trained["full"].losses[0]


def test_a_stopped_job_resumes_from_its_checkpoint_to_the_same_weights(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = ("--epochs", "3", "--checkpoint_every", "2")
    uninterrupted = run(workspace, "resume-reference", "lora", *extra)

    class SpotInterruptionError(Exception):
        pass

    save = train_script.save_checkpoint

    def save_then_stop(directory: Path, model: Any, optimizer: Any, scheduler: Any, step: int) -> None:
        save(directory, model, optimizer, scheduler, step)
        if step == 4:
            raise SpotInterruptionError

    monkeypatch.setattr(train_script, "save_checkpoint", save_then_stop)
    with pytest.raises(SpotInterruptionError):
        run(workspace, "resumed", "lora", *extra)
    monkeypatch.setattr(train_script, "save_checkpoint", save)
    resumed = run(workspace, "resumed", "lora", *extra)

    assert resumed.resumed_from == 4
    assert resumed.steps == uninterrupted.steps == 6
    assert resumed.losses == pytest.approx(uninterrupted.losses[4:])
    reference = train_script.trainable_state(uninterrupted.model)
    for name, value in train_script.trainable_state(resumed.model).items():
        torch.testing.assert_close(value, reference[name], msg=name)


def test_a_checkpoint_of_another_method_is_refused(workspace: Path) -> None:
    run(workspace, "mismatch", "prefix-tuning", "--epochs", "1", "--checkpoint_every", "1")
    shutil.rmtree(workspace / "mismatch" / "model")
    with pytest.raises(ValueError, match="does not match this model and method"):
        run(workspace, "mismatch", "lora", "--epochs", "1")


def test_metrics_are_printed_for_the_pipeline_metric_definitions(
    workspace: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert train_script.main(arguments(workspace, "cli", "lora", "--epochs", "1", "--log_every", "1")) == 0
    printed = capsys.readouterr().out
    for name in train_script.METRIC_NAMES:
        assert f"{name}=" in printed, name


def test_too_few_examples_for_the_batch_is_a_clear_error(workspace: Path) -> None:
    with pytest.raises(ValueError, match="cannot fill one batch of 64"):
        run(workspace, "small", "lora", "--per_device_batch_size", "64")


def test_hyperparameters_arrive_as_strings_from_sagemaker() -> None:
    args = train_script.parse_args(["--merge_weights", "false", "--learning_rate", "0.0002", "--method", "qlora"])
    assert args.merge_weights is False
    assert args.learning_rate == 2e-4
    with pytest.raises(SystemExit):
        train_script.parse_args(["--merge_weights", "perhaps"])
    with pytest.raises(SystemExit):
        train_script.parse_args(["--method", "qlora", "--accelerator", "trainium"])


@pytest.mark.parametrize("method", ["lora", "full"])
def test_ddp_on_two_cpu_processes_ends_with_identical_weights(workspace: Path, tmp_path: Path, method: str) -> None:
    import os
    import subprocess
    import sys

    repository = Path(__file__).resolve().parents[2]
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        str(repository / "tests" / "pipelines" / "ddp_worker.py"), str(tmp_path),
        *arguments(workspace, f"ddp-{method}", method, "--epochs", "4", "--per_device_batch_size", "2"),
    ]  # fmt: skip
    environment = os.environ | {"PYTHONPATH": str(repository), "OMP_NUM_THREADS": "1"}
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr[-3000:]

    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=True) for rank in (0, 1)]
    assert ranks[0]["steps"] == ranks[1]["steps"] == 8  # 8 records, 2 per device on 2 devices, 4 epochs
    assert ranks[0]["losses"] == ranks[1]["losses"]  # all-reduced
    initial = build_model(workspace / "base", method, MethodSettings(lora_rank=4), torch.device("cpu"))
    initial_weights = train_script.trainable_state(initial)
    assert ranks[0]["weights"].keys() == ranks[1]["weights"].keys() == initial_weights.keys()
    for name, weight in ranks[0]["weights"].items():
        torch.testing.assert_close(weight, ranks[1]["weights"][name], rtol=0, atol=0, msg=name)
    assert any(not torch.equal(weight, initial_weights[name]) for name, weight in ranks[0]["weights"].items())
    assert (workspace / f"ddp-{method}" / "model" / "training_report.json").exists()
