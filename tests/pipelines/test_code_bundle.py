"""The jobs' code bundle: reproducible, and enough on its own to run the jobs as the definition starts them."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from llmops_constructs.code_bundle import deterministic_tarball
from llmops_constructs.fine_tuning_pipeline import CODE_MEMBERS, REPOSITORY_ROOT
from pipelines.fine_tuning import PROCESSING_CODE_DIR, script_entrypoint
from pipelines.tiny_llama import save_tiny_llama
from tests.pipelines.tiny_data import CORPUS, RECORDS, write_jsonl


def bundle() -> bytes:
    return deterministic_tarball(REPOSITORY_ROOT, CODE_MEMBERS)


def test_the_bundle_is_byte_for_byte_reproducible_and_holds_only_sources() -> None:
    first = bundle()
    assert first == bundle()
    with tarfile.open(fileobj=io.BytesIO(first)) as archive:
        names = archive.getnames()
    assert "pipelines/scripts/train.py" in names and "pipelines/__init__.py" in names
    assert all(name.endswith(".py") and "__pycache__" not in name for name in names)
    assert not any(name.startswith("pipelines/fine_tuning") for name in names)  # the SDK stays out of the jobs


def test_a_missing_member_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no Python files"):
        deterministic_tarball(tmp_path, ["absent"])


def run_entrypoint(root: Path, module: str, *arguments: str) -> subprocess.CompletedProcess[str]:
    """The processing job's entrypoint with ``/opt/ml`` moved under ``root`` and this interpreter as python3."""
    (root / PROCESSING_CODE_DIR.lstrip("/")).mkdir(parents=True)
    (root / PROCESSING_CODE_DIR.lstrip("/") / "code.gz").write_bytes(bundle())
    _, _, script, name = script_entrypoint("code.gz", module)
    script = script.replace("/opt/ml", str(root / "opt" / "ml")).replace("python3", sys.executable)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return subprocess.run(
        ["/bin/sh", "-c", script, name, *arguments], capture_output=True, text=True, env=environment, timeout=300
    )


def test_preprocessing_runs_from_the_bundle_alone(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "data" / "records.jsonl", [*RECORDS, {"text": 1}, RECORDS[0]]).parent
    finished = run_entrypoint(
        tmp_path, "pipelines.scripts.preprocess", "--input", str(data), "--output", str(tmp_path / "out")
    )
    assert finished.returncode == 0, finished.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["kept"] == len(RECORDS)
    assert report["dropped"] == {"duplicate": 1, "text is not a string": 1}
    assert (tmp_path / "opt" / "ml" / "code" / "pipelines" / "scripts" / "evaluate.py").exists()


def test_training_runs_as_the_toolkit_starts_it(tmp_path: Path) -> None:
    """The toolkit unpacks ``sagemaker_submit_directory`` into /opt/ml/code and runs ``sagemaker_program``
    from there with the job's environment (``PYTHONPATH``)."""
    code = tmp_path / "code"
    with tarfile.open(fileobj=io.BytesIO(bundle())) as archive:
        archive.extractall(code, filter="data")
    save_tiny_llama(tmp_path / "model", CORPUS)
    write_jsonl(tmp_path / "train" / "train.jsonl", RECORDS)
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"} | {
        "PYTHONPATH": str(code),  # the job's Environment sets PYTHONPATH to CODE_DIR, where this stands
        "SM_CHANNEL_TRAIN": str(tmp_path / "train"),
        "SM_CHANNEL_VALIDATION": str(tmp_path / "train"),
        "SM_CHANNEL_MODEL": str(tmp_path / "model"),
        "SM_MODEL_DIR": str(tmp_path / "output"),
    }
    finished = subprocess.run(
        [sys.executable, "pipelines/scripts/train.py", "--method", "lora", "--accelerator", "cpu",
         "--checkpoint_dir", str(tmp_path / "checkpoints"), "--lora_rank", "4"],
        cwd=code, env=environment, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr[-3000:]
    assert "validation_perplexity=" in finished.stdout
    assert json.loads((tmp_path / "output" / "llmops_model.json").read_text())["layout"] == "merged"
