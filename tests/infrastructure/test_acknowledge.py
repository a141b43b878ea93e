"""Acknowledgements and checkov skips carry a qualified rule id and a real reason."""

from __future__ import annotations

import pytest
from aws_cdk import App, Stack, Validations
from aws_cdk import aws_sqs as sqs

from llmops_constructs.acknowledge import acknowledge, skip_checkov

REASON = "this queue only ever holds test messages in this unit test"


def queue() -> sqs.Queue:
    return sqs.Queue(Stack(App(), "Ack"), "Queue")


def test_acknowledgement_is_recorded_as_cdk_validation_metadata() -> None:
    target = queue()
    acknowledge(target, "AwsSolutions::AwsSolutions-SQS3", REASON)
    [entry] = [e for e in target.node.metadata if e.type == Validations.ACKNOWLEDGED_RULES_METADATA_KEY]
    assert entry.data == {"AwsSolutions::AwsSolutions-SQS3": REASON}


def test_rule_id_must_name_its_pack() -> None:
    with pytest.raises(ValueError, match="must be qualified by its pack"):
        acknowledge(queue(), "AwsSolutions-SQS3", REASON)


@pytest.mark.parametrize("reason", ["", "ok", "not needed here"])
def test_a_reason_must_explain(reason: str) -> None:
    with pytest.raises(ValueError, match="must explain why it is safe"):
        acknowledge(queue(), "AwsSolutions::AwsSolutions-SQS3", reason)


def test_checkov_skips_accumulate_on_the_resource() -> None:
    resource = queue().node.default_child
    skip_checkov(resource, "CKV_AWS_1", REASON)  # type: ignore[arg-type]
    skip_checkov(resource, "CKV_AWS_2", REASON)  # type: ignore[arg-type]
    assert resource.get_metadata("checkov") == {  # type: ignore[union-attr]
        "skip": [{"id": "CKV_AWS_1", "comment": REASON}, {"id": "CKV_AWS_2", "comment": REASON}]
    }
    with pytest.raises(ValueError, match="must explain why it is safe"):
        skip_checkov(resource, "CKV_AWS_3", "fine")  # type: ignore[arg-type]
