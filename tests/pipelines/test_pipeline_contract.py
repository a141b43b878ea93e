"""The pipeline's steps, run locally in order with the arguments the definition gives them.

SageMaker cannot run here, so this checks the contract between the definition and the scripts:
the preprocessing job writes the files the training channels and the evaluation input name, the
training hyperparameters are options the training script accepts, the evaluation job's
arguments work, and the quality condition's JSON path finds a number in the report.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from pipelines.fine_tuning import JobResources, pipeline_definition
from pipelines.scripts import evaluate, preprocess, train
from pipelines.tiny_llama import save_tiny_llama
from stacks.config import EnvironmentConfig
from tests.pipelines.tiny_data import CORPUS, RECORDS, write_jsonl

RESOURCES = JobResources(
    role_arn="arn:aws:iam::111111111111:role/jobs",
    artifacts_bucket="artifacts",
    curated_bucket="curated",
    kms_key_arn="arn:aws:kms:eu-west-1:111111111111:key/k",
    subnet_ids=("subnet-1",),
    security_group_ids=("sg-1",),
    code_uri="s3://code/bundle.gz",
    model_package_group="models",
)
TOOLKIT_HYPERPARAMETERS = ("sagemaker_program", "sagemaker_submit_directory", "sagemaker_torch_distributed_enabled")


@pytest.fixture(scope="module")
def definition() -> dict[str, Any]:
    config = EnvironmentConfig(name="dev", region="eu-west-1", removal_policy="destroy")
    parsed: dict[str, Any] = json.loads(pipeline_definition(config, RESOURCES, "contract"))
    return parsed


def steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = {}
    for step in definition["Steps"]:
        found[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            found |= {inner["Name"]: inner for inner in step.get("Arguments", {}).get(branch, [])}
    return found


def resolved(value: Any, definition: dict[str, Any]) -> str:
    """A literal, or the default of the pipeline parameter it names (``Std:Join`` of one value too)."""
    if isinstance(value, dict) and "Std:Join" in value:
        [value] = value["Std:Join"]["Values"]
    if isinstance(value, dict) and "Get" in value:
        name = value["Get"].removeprefix("Parameters.")
        return str(next(p["DefaultValue"] for p in definition["Parameters"] if p["Name"] == name))
    return str(value)


def local(path: str, root: Path) -> str:
    return str(root / path.lstrip("/")) if path.startswith("/opt/ml") else path


def test_the_steps_hand_each_other_what_the_definition_says(definition: dict[str, Any], tmp_path: Path) -> None:
    by_name = steps(definition)
    save_tiny_llama(tmp_path / "base", CORPUS)
    incoming = tmp_path / "opt/ml/processing/input/data"
    write_jsonl(incoming / "hr" / "records.jsonl", RECORDS * 2 + [{"broken": True}])

    arguments = by_name["Preprocess"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert preprocess.main([local(resolved(a, definition), tmp_path) for a in arguments]) == 0
    [data_output] = by_name["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    written = tmp_path / data_output["S3Output"]["LocalPath"].lstrip("/")

    train_arguments = by_name["Train"]["Arguments"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in train_arguments["InputDataConfig"]}
    for channel in ("train", "validation"):
        join = channels[channel]["Std:Join"]["Values"]
        assert join[0] == {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['data'].S3Output.S3Uri"}
        assert (written / join[1]).exists(), f"preprocessing wrote no {join[1]} for the {channel} channel"

    options = [
        item
        for name, value in train_arguments["HyperParameters"].items()
        if name not in TOOLKIT_HYPERPARAMETERS
        for item in (f"--{name}", resolved(value, definition))
    ]
    options = [o if o != "gpu" else "cpu" for o in options]  # the accelerator this machine has
    result = train.train(
        train.parse_args(
            [
                *options,
                "--train", str(written / "train.jsonl"), "--validation", str(written / "validation.jsonl"),
                "--model_dir", str(tmp_path / "base"), "--output_dir", str(tmp_path / "model"),
                "--checkpoint_dir", str(tmp_path / "checkpoints"), "--lora_rank", "4",
            ]
        )
    )  # fmt: skip
    assert result.saved is not None and result.saved.method == resolved({"Get": "Parameters.Method"}, definition)

    model_input = tmp_path / "opt/ml/processing/model"
    model_input.mkdir(parents=True)
    with tarfile.open(model_input / "model.tar.gz", "w:gz") as archive:  # what the training job uploads
        archive.add(tmp_path / "model", arcname=".")
    (tmp_path / "opt/ml/processing/base").symlink_to(tmp_path / "base")
    (tmp_path / "opt/ml/processing/test").symlink_to(written)
    evaluation_arguments = by_name["Evaluate"]["Arguments"]["AppSpecification"]["ContainerArguments"]
    assert evaluate.main([local(resolved(a, definition), tmp_path) for a in evaluation_arguments]) == 0

    [report_file] = by_name["Evaluate"]["PropertyFiles"]
    [evaluation_output] = by_name["Evaluate"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
    assert evaluation_output["OutputName"] == report_file["OutputName"]
    report = json.loads(
        (tmp_path / evaluation_output["S3Output"]["LocalPath"].lstrip("/") / report_file["FilePath"]).read_text()
    )
    [condition] = by_name["CheckQuality"]["Arguments"]["Conditions"]
    value: Any = report
    for key in condition["LeftValue"]["Std:JsonGet"]["Path"].split("."):
        value = value[key]
    assert isinstance(value, float) and value > 0
