"""The data-preparation state machine, executed end to end in moto's Step Functions interpreter.

The definition is the one synthesized for dev. Lambda tasks are dispatched in-process to the
real handlers (moto's Lambda backend is patched to call them); S3, DynamoDB and Step Functions
are moto's; Comprehend and Textract are botocore Stubbers. Textract's completion notification
is delivered as SNS would deliver it to the callback.

moto's interpreter provides no ``$$.Task.Token`` to ``lambda:invoke.waitForTaskToken`` tasks, so
the Textract state is run here as a plain invocation that starts the job, receives the
notification and answers with what the callback sends to ``SendTaskSuccess``; the pause itself
(token stored, token answered) is tested in tests/data_prep/test_textract_jobs.py and the
state's shape in tests/infrastructure/test_data_prep_stack.py.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.awslambda_simple.models import LambdaSimpleBackend

from tests.conftest import SynthesizedPlatform, resources_of
from tests.lambda_handlers.conftest import LambdaContext, load_handler

REGION, ACCOUNT = "eu-west-1", "123456789012"
RAW, CURATED, ARTIFACTS, TABLE = "raw", "curated", "artifacts", "processing"
STEPS_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:steps"
FIXTURES = Path(__file__).parent.parent / "data_prep" / "fixtures"
BLOCKS = json.loads((FIXTURES / "textract_two_column_two_pages.json").read_text())["Blocks"]

steps = load_handler("data_prep_steps")
callback = load_handler("textract_callback")


def definition(platform: SynthesizedPlatform) -> str:
    """The dev workflow's definition with its CloudFormation tokens filled in (and the Textract
    wait run as one invocation, see above)."""
    template = platform.template_json("dev", "DataPrep")
    [(_, machine)] = resources_of(template, "AWS::StepFunctions::StateMachine")
    parts = machine["Properties"]["DefinitionString"]["Fn::Join"][1]
    values = {"AWS::Partition": "aws"}
    text = "".join(
        part if isinstance(part, str) else STEPS_ARN if "Fn::GetAtt" in part else values[part["Ref"]] for part in parts
    )
    workflow = json.loads(text)
    textract = workflow["States"]["Textract"]
    assert textract["Resource"] == "arn:aws:states:::lambda:invoke.waitForTaskToken"
    assert textract["Parameters"]["Payload"]["task_token.$"] == "$$.Task.Token"
    textract["Resource"] = STEPS_ARN
    textract["Parameters"] = {"step": "textract_start_and_wait", "document.$": "$.document"}
    return json.dumps(workflow)


class TaskTokenAnswers:
    """Records what the callback sends to Step Functions for a task token."""

    def __init__(self) -> None:
        self.answers: dict[str, tuple[str, Any]] = {}

    def send_task_success(self, taskToken: str, output: str) -> None:  # noqa: N803 (boto3's names)
        self.answers[taskToken] = ("success", json.loads(output))

    def send_task_failure(self, taskToken: str, error: str, cause: str) -> None:  # noqa: N803
        self.answers[taskToken] = ("failure", {"errorType": error, "errorMessage": cause})


class Services:
    """Stubbed Comprehend and Textract, real (moto) clients for everything else."""

    def __init__(self) -> None:
        self.comprehend = boto3.client("comprehend", region_name=REGION)
        self.textract = boto3.client("textract", region_name=REGION)
        self.stubs = {name: Stubber(getattr(self, name)) for name in ("comprehend", "textract")}
        for stub in self.stubs.values():
            stub.activate()
        self.moto: dict[str, Any] = {}

    def client(self, service: str) -> Any:
        if service in ("comprehend", "textract"):
            return getattr(self, service)
        return self.moto.setdefault(service, boto3.client(service, region_name=REGION))

    def comprehend_finds(self, pii: list[dict[str, Any]] | None = None) -> None:
        stub = self.stubs["comprehend"]
        stub.add_response("detect_dominant_language", {"Languages": [{"LanguageCode": "en", "Score": 0.99}]})
        stub.add_response("detect_pii_entities", {"Entities": pii or []})
        stub.add_response("detect_entities", {"Entities": []})


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch, platform: SynthesizedPlatform) -> Iterator[tuple[Services, Any, str]]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    environment = {
        "TABLE_NAME": TABLE,
        "CURATED_BUCKET": CURATED,
        "ARTIFACTS_BUCKET": ARTIFACTS,
        "TEXTRACT_MODE": "text",
        "TEXTRACT_TOPIC_ARN": f"arn:aws:sns:{REGION}:{ACCOUNT}:textract",
        "TEXTRACT_ROLE_ARN": f"arn:aws:iam::{ACCOUNT}:role/textract",
        "PII_REDACTION": "mask",
        "PII_MIN_SCORE": "0.5",
        "LABELING_TASK": "text-classification",
        "LABELS": "[]",
    }
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    config = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
    with mock_aws(config=config):  # type: ignore[arg-type]
        fakes = Services()
        monkeypatch.setattr(steps, "client", fakes.client)
        s3 = fakes.client("s3")
        for bucket in (RAW, CURATED, ARTIFACTS):
            s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
            s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
        fakes.client("dynamodb").create_table(
            TableName=TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        )

        def invoke(
            backend: Any, function_name: str, qualifier: Any, body: Any, headers: Any, response_headers: Any
        ) -> bytes:
            event = json.loads(body)
            try:
                if event["step"] == "textract_start_and_wait":
                    result = textract_and_wait(fakes, event)
                else:
                    result = steps.handler(event, LambdaContext())
            except Exception as error:  # reported to Step Functions as the function's error
                response_headers["x-amz-function-error"] = "Unhandled"
                return json.dumps({"errorType": type(error).__name__, "errorMessage": str(error)}).encode()
            return json.dumps(result).encode()

        monkeypatch.setattr(LambdaSimpleBackend, "invoke", invoke)
        sfn = fakes.client("stepfunctions")
        machine = sfn.create_state_machine(
            name="data-prep", definition=definition(platform), roleArn=f"arn:aws:iam::{ACCOUNT}:role/workflow"
        )["stateMachineArn"]
        yield fakes, sfn, machine


def textract_and_wait(fakes: Services, event: dict[str, Any]) -> Any:
    """Start the job as the paused state would, then deliver Textract's SNS notification to the
    callback handler and answer with what it sends for the token."""
    token = "task-token-under-test"
    job = steps.handler({"step": "textract_start", "document": event["document"], "task_token": token}, LambdaContext())
    answers = TaskTokenAnswers()
    notification = {"JobId": job["job_id"], "Status": "SUCCEEDED", "API": "StartDocumentTextDetection"}
    clients = {
        "textract": fakes.textract,
        "s3": fakes.client("s3"),
        "stepfunctions": answers,
        "dynamodb": fakes.client("dynamodb"),
    }
    callback_event = {"Records": [{"Sns": {"Message": json.dumps(notification)}}]}
    original = callback.boto3.client
    callback.boto3.client = lambda service: clients[service]  # type: ignore[assignment]
    try:
        callback.handler(callback_event, LambdaContext())
    finally:
        callback.boto3.client = original  # type: ignore[assignment]
    outcome, output = answers.answers[token]
    if outcome == "failure":
        raise RuntimeError(output["errorMessage"])
    return output


def drop(fakes: Services, sfn: Any, machine: str, key: str, body: bytes) -> dict[str, Any]:
    version = fakes.client("s3").put_object(Bucket=RAW, Key=key, Body=body)["VersionId"]
    event = {
        "source": "aws.s3",
        "detail-type": "Object Created",
        "detail": {"bucket": {"name": RAW}, "object": {"key": key, "version-id": version, "size": len(body)}},
    }
    execution = sfn.start_execution(stateMachineArn=machine, name=uuid.uuid4().hex, input=json.dumps(event))[
        "executionArn"
    ]
    deadline = time.time() + 60
    while time.time() < deadline:
        described = sfn.describe_execution(executionArn=execution)
        if described["status"] != "RUNNING":
            return described
        time.sleep(0.1)
    raise AssertionError(f"execution of {key} did not finish")


def curated(fakes: Services, prefix: str) -> list[dict[str, Any]]:
    s3 = fakes.client("s3")
    listed = s3.list_objects_v2(Bucket=CURATED, Prefix=prefix).get("Contents", [])
    return [
        json.loads(line)
        for obj in listed
        for line in s3.get_object(Bucket=CURATED, Key=obj["Key"])["Body"].read().decode().splitlines()
    ]


def quarantined(fakes: Services, key: str) -> dict[str, Any]:
    body = fakes.client("s3").get_object(Bucket=RAW, Key=f"quarantine/{key}.error.json")["Body"].read()
    return json.loads(body)


def test_a_text_file_ends_as_curated_records(services: tuple[Services, Any, str]) -> None:
    fakes, sfn, machine = services
    fakes.comprehend_finds()
    result = drop(fakes, sfn, machine, "incoming/faq/answer.txt", b"Reset the router, then wait a minute.")
    assert result["status"] == "SUCCEEDED", result
    [record] = curated(fakes, "retrieval/faq/")
    assert record["text"] == "Reset the router, then wait a minute."
    assert record["lineage"]["execution"] == result["executionArn"]


def test_pii_is_masked_before_anything_reaches_the_curated_zone(services: tuple[Services, Any, str]) -> None:
    fakes, sfn, machine = services
    text = "Jane Doe, card 4111 1111 1111 1111, phone 555-0100."
    fakes.comprehend_finds(
        [
            {"Type": "NAME", "BeginOffset": 0, "EndOffset": 8, "Score": 0.99},
            {"Type": "CREDIT_DEBIT_NUMBER", "BeginOffset": 15, "EndOffset": 34, "Score": 0.99},
            {"Type": "PHONE", "BeginOffset": 42, "EndOffset": 50, "Score": 0.99},
        ]
    )
    assert drop(fakes, sfn, machine, "incoming/hr/pii.txt", text.encode())["status"] == "SUCCEEDED"
    records = curated(fakes, "retrieval/hr/") + curated(fakes, "fine-tuning/hr/")
    assert {r["text"] for r in records} == {"[NAME], card [CREDIT_DEBIT_NUMBER], phone [PHONE]."}


def test_a_multi_page_pdf_goes_through_textract_and_resumes_on_its_notification(
    services: tuple[Services, Any, str],
) -> None:
    fakes, sfn, machine = services
    textract = fakes.stubs["textract"]
    textract.add_response(
        "start_document_text_detection",
        {"JobId": "job-42"},
        {"DocumentLocation": ANY, "NotificationChannel": ANY, "JobTag": ANY, "ClientRequestToken": ANY},
    )
    textract.add_response("get_document_text_detection", {"Blocks": BLOCKS}, {"JobId": "job-42", "MaxResults": 1000})
    fakes.comprehend_finds()
    result = drop(fakes, sfn, machine, "incoming/reports/q3.pdf", b"%PDF-1.7 two pages")
    assert result["status"] == "SUCCEEDED", result
    texts = [r["text"] for r in curated(fakes, "retrieval/reports/")]
    assert "Quarterly report\nLeft column first line\nLeft column second line\nRight column first line" in "\n".join(
        texts
    )
    assert curated(fakes, "retrieval/reports/")[0]["lineage"]["textract_job_id"] == "job-42"


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("incoming/faq/corrupt.txt", b"\xff\xfe\x00 not text", "DocumentError: not UTF-8 text"),
        ("incoming/faq/empty.txt", b"", "DocumentError: the document is empty"),
    ],
)
def test_a_bad_document_lands_in_quarantine_with_its_reason(
    services: tuple[Services, Any, str], key: str, body: bytes, reason: str
) -> None:
    fakes, sfn, machine = services
    result = drop(fakes, sfn, machine, key, body)
    assert (result["status"], result.get("error")) == ("FAILED", "DocumentQuarantined")
    record = quarantined(fakes, key)
    assert record["reason"].startswith(reason)
    assert record["execution"] == result["executionArn"]
    assert record["step"] in {"Classify", "ExtractText"}
    assert curated(fakes, "") == []


def test_rerunning_a_document_does_not_duplicate_records(services: tuple[Services, Any, str]) -> None:
    fakes, sfn, machine = services
    fakes.comprehend_finds()
    fakes.comprehend_finds()
    s3 = fakes.client("s3")
    drop(fakes, sfn, machine, "incoming/faq/same.txt", b"Same content.")
    version = s3.list_object_versions(Bucket=RAW, Prefix="incoming/faq/same.txt")["Versions"][0]["VersionId"]
    event = {"detail": {"bucket": {"name": RAW}, "object": {"key": "incoming/faq/same.txt", "version-id": version}}}
    execution = sfn.start_execution(stateMachineArn=machine, name="rerun", input=json.dumps(event))["executionArn"]
    while sfn.describe_execution(executionArn=execution)["status"] == "RUNNING":
        time.sleep(0.1)
    assert len(s3.list_objects_v2(Bucket=CURATED, Prefix="retrieval/")["Contents"]) == 1
    assert len(curated(fakes, "retrieval/")) == 1
