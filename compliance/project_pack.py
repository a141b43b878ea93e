"""LlmOps: the project's own cdk-nag pack, for what the stock packs do not check.

Rules read the resource's rendered CloudFormation properties (raw overrides are not seen,
as with the stock packs). A rule returns ``NON_COMPLIANT`` with a message naming the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any, cast

import jsii
from aws_cdk import CfnResource, Stack
from cdk_nag import IApplyRule, NagMessageLevel, NagPack, NagRuleCompliance

PACK_NAME = "LlmOps"

Properties = dict[str, Any]
RuleCheck = Callable[[Properties], bool]


def cfn_properties(node: CfnResource) -> Properties:
    """The resource's properties as they appear in the template, tokens resolved."""
    rendered = Stack.of(node).resolve(node._render_properties(node._cfn_properties))
    return rendered if isinstance(rendered, dict) else {}


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


def _policy_documents(props: Properties) -> list[Any]:
    policy = props.get("Policy")
    if isinstance(policy, str):
        try:
            policy = json.loads(policy)
        except json.JSONDecodeError:
            return []
    if isinstance(policy, dict):
        return [policy]
    return policy if isinstance(policy, list) else []


def sagemaker_model_network_isolation(props: Properties) -> bool:
    return _is_true(props.get("EnableNetworkIsolation"))


def sagemaker_model_in_vpc(props: Properties) -> bool:
    vpc = props.get("VpcConfig")
    return isinstance(vpc, dict) and bool(vpc.get("Subnets")) and bool(vpc.get("SecurityGroupIds"))


def sagemaker_data_capture_encrypted(props: Properties) -> bool:
    capture = props.get("DataCaptureConfig")
    if not isinstance(capture, dict) or capture.get("EnableCapture") is False:
        return True
    return bool(capture.get("KmsKeyId"))


def opensearch_serverless_not_public(props: Properties) -> bool:
    if props.get("Type") != "network":
        return True
    return not any(_is_true(rule.get("AllowFromPublic")) for rule in _policy_documents(props) if isinstance(rule, dict))


def opensearch_serverless_customer_key(props: Properties) -> bool:
    if props.get("Type") != "encryption":
        return True
    return not any(
        _is_true(policy.get("AWSOwnedKey")) for policy in _policy_documents(props) if isinstance(policy, dict)
    )


def _definition(props: Properties) -> dict[str, Any] | None:
    definition = props.get("DefinitionString", props.get("Definition"))
    if isinstance(definition, dict) and "Fn::Join" in definition:
        separator, parts = definition["Fn::Join"]
        # Tokens become quoted placeholders so the JSON around them still parses.
        definition = separator.join(part if isinstance(part, str) else "__TOKEN__" for part in parts)
        definition = re.sub(r'(?<!")__TOKEN__(?!")', '"__TOKEN__"', definition)
    if isinstance(definition, str):
        try:
            definition = json.loads(definition)
        except json.JSONDecodeError:
            return None
    return definition if isinstance(definition, dict) else None


def _task_states(states: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for name, state in states.items():
        if not isinstance(state, dict):
            continue
        if state.get("Type") == "Task":
            yield name, state
        for branch in state.get("Branches", []):
            yield from _task_states(branch.get("States", {}))
        for key in ("ItemProcessor", "Iterator"):
            if isinstance(state.get(key), dict):
                yield from _task_states(state[key].get("States", {}))


def tasks_without_retry_and_catch(props: Properties) -> list[str]:
    definition = _definition(props)
    if definition is None:
        return []
    return sorted(
        name
        for name, state in _task_states(definition.get("States", {}))
        if not state.get("Retry") or not state.get("Catch")
    )


def _pipeline_definition(props: Properties) -> dict[str, Any] | None:
    body = (props.get("PipelineDefinition") or {}).get("PipelineDefinitionBody")
    if isinstance(body, dict) and "Fn::Sub" in body:
        body = body["Fn::Sub"][0] if isinstance(body["Fn::Sub"], list) else body["Fn::Sub"]
    if isinstance(body, dict) and "Fn::Join" in body:
        separator, parts = body["Fn::Join"]
        body = separator.join(part if isinstance(part, str) else "TOKEN" for part in parts)
    if not isinstance(body, str):
        return None
    try:
        parsed = json.loads(body)
    except json.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _pipeline_steps(steps: list[Any]) -> Iterator[dict[str, Any]]:
    for step in steps:
        if not isinstance(step, dict):
            continue
        yield step
        arguments = step.get("Arguments") or {}
        if step.get("Type") == "Condition" and isinstance(arguments, dict):
            yield from _pipeline_steps((arguments.get("IfSteps") or []) + (arguments.get("ElseSteps") or []))


def _job_gaps(step: dict[str, Any]) -> list[str]:
    """What a processing or training step's job lacks: isolation, VPC, encryption at rest and in transit."""
    arguments = step.get("Arguments") or {}
    if step.get("Type") == "Training":
        network = arguments
        volume_key = (arguments.get("ResourceConfig") or {}).get("VolumeKmsKeyId")
        output_key = (arguments.get("OutputDataConfig") or {}).get("KmsKeyId")
        count = (arguments.get("ResourceConfig") or {}).get("InstanceCount", 1)
    else:
        network = arguments.get("NetworkConfig") or {}
        volume_key = ((arguments.get("ProcessingResources") or {}).get("ClusterConfig") or {}).get("VolumeKmsKeyId")
        output_key = (arguments.get("ProcessingOutputConfig") or {}).get("KmsKeyId")
        count = ((arguments.get("ProcessingResources") or {}).get("ClusterConfig") or {}).get("InstanceCount", 1)
    vpc = network.get("VpcConfig") or {}
    gaps = {
        "network isolation": _is_true(network.get("EnableNetworkIsolation")),
        "VPC": bool(vpc.get("Subnets")) and bool(vpc.get("SecurityGroupIds")),
        "volume KMS key": bool(volume_key),
        "output KMS key": bool(output_key),
        "inter-container encryption": not (isinstance(count, int) and count > 1)
        or _is_true(network.get("EnableInterContainerTrafficEncryption")),
    }
    return [gap for gap, met in gaps.items() if not met]


def pipeline_jobs_without_protection(props: Properties) -> list[str]:
    """``Step: what it lacks`` for each job step of a SageMaker pipeline that misses a protection."""
    definition = _pipeline_definition(props)
    if definition is None:
        return []
    return sorted(
        f"{step.get('Name')}: {', '.join(gaps)}"
        for step in _pipeline_steps(definition.get("Steps") or [])
        if step.get("Type") in ("Processing", "Training") and (gaps := _job_gaps(step))
    )


def global_table_recoverable(props: Properties) -> bool:
    replicas = props.get("Replicas") or []
    return bool(replicas) and all(
        _is_true(replica.get("DeletionProtectionEnabled"))
        and _is_true((replica.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
        for replica in replicas
        if isinstance(replica, dict)
    )


# (resource type, rule suffix, info, explanation, check)
RULES: tuple[tuple[str, str, str, str, RuleCheck], ...] = (
    (
        "AWS::SageMaker::Model",
        "SageMakerModelNetworkIsolation",
        "The SageMaker model does not enable network isolation.",
        "Model containers load weights from S3 through the platform; set EnableNetworkIsolation so a "
        "compromised container cannot reach any network.",
        sagemaker_model_network_isolation,
    ),
    (
        "AWS::SageMaker::Model",
        "SageMakerModelVpc",
        "The SageMaker model is not placed in the platform VPC.",
        "Set VpcConfig with the isolated subnets and the workload security group.",
        sagemaker_model_in_vpc,
    ),
    (
        "AWS::SageMaker::EndpointConfig",
        "SageMakerDataCaptureEncrypted",
        "The SageMaker endpoint captures data without a KMS key.",
        "Captured prompts and responses are sensitive: set DataCaptureConfig.KmsKeyId.",
        sagemaker_data_capture_encrypted,
    ),
    (
        "AWS::OpenSearchServerless::SecurityPolicy",
        "AossNoPublicNetwork",
        "The OpenSearch Serverless network policy allows public access.",
        "Collections are reached through VPC endpoints only: set AllowFromPublic to false.",
        opensearch_serverless_not_public,
    ),
    (
        "AWS::OpenSearchServerless::SecurityPolicy",
        "AossCustomerManagedKey",
        "The OpenSearch Serverless encryption policy uses an AWS-owned key.",
        "Encrypt collections with a customer-managed KMS key (AWSOwnedKey false, KmsARN set).",
        opensearch_serverless_customer_key,
    ),
    (
        "AWS::DynamoDB::GlobalTable",
        "GlobalTableRecoverable",
        "The DynamoDB global table lacks point-in-time recovery or deletion protection.",
        "Enable PointInTimeRecoverySpecification on every replica and DeletionProtectionEnabled.",
        global_table_recoverable,
    ),
)

STATE_MACHINE_RULE = "StepFunctionsTaskRetryCatch"
PIPELINE_JOBS_RULE = "SageMakerPipelineJobProtection"

# Rules on the parts of a resource (states of a state machine, steps of a pipeline): the check names
# each failing part, and each becomes its own finding (``Rule[part]``).
PART_RULES: tuple[tuple[str, str, str, str, Callable[[Properties], list[str]]], ...] = (
    (
        "AWS::StepFunctions::StateMachine",
        STATE_MACHINE_RULE,
        "A Step Functions Task state has no Retry or no Catch.",
        "Every Task retries transient errors with backoff and catches the rest, so no "
        "execution fails without routing its input somewhere recoverable.",
        tasks_without_retry_and_catch,
    ),
    (
        "AWS::SageMaker::Pipeline",
        PIPELINE_JOBS_RULE,
        "A SageMaker pipeline job lacks network isolation, VPC placement or encryption.",
        "cfn-lint and the stock packs cannot see inside pipeline definitions: every processing and "
        "training job runs network-isolated in the VPC with KMS-encrypted volumes and outputs, and "
        "multi-instance jobs encrypt traffic between their containers.",
        pipeline_jobs_without_protection,
    ),
)


@jsii.implements(IApplyRule)
class _AppliedRule:
    """Adapts a plain Python check to cdk-nag's IApplyRule interface."""

    def __init__(
        self, node: CfnResource, suffix: str, info: str, explanation: str, check: Callable[[CfnResource], Any]
    ) -> None:
        self._node, self._suffix, self._info, self._explanation, self._check = node, suffix, info, explanation, check

    @property
    def node(self) -> CfnResource:
        return self._node

    @property
    def rule_suffix_override(self) -> str:
        return self._suffix

    @property
    def info(self) -> str:
        return self._info

    @property
    def explanation(self) -> str:
        return self._explanation

    @property
    def level(self) -> NagMessageLevel:
        return NagMessageLevel.ERROR

    def rule(self, node: CfnResource) -> Any:
        return self._check(node)

    @classmethod
    def of(
        cls, node: CfnResource, suffix: str, info: str, explanation: str, check: Callable[[CfnResource], Any]
    ) -> IApplyRule:
        # jsii protocols declare settable attributes; cdk-nag only reads them.
        return cast(IApplyRule, cls(node, suffix, info, explanation, check))


class LlmOpsChecks(NagPack):
    """SageMaker model isolation, capture encryption and pipeline job protection, AOSS policies,
    Step Functions error handling, DynamoDB global table recoverability."""

    def __init__(self, scope: Any = None) -> None:
        super().__init__(scope)
        self._pack_name = PACK_NAME

    @property
    def name(self) -> str:
        return PACK_NAME

    def _check_resource(self, node: CfnResource) -> None:
        resource_type = node.cfn_resource_type
        for rule_type, suffix, info, explanation, check in RULES:
            if rule_type == resource_type:
                self._apply_rule(_AppliedRule.of(node, suffix, info, explanation, _compliance(check)))
        for rule_type, suffix, info, explanation, findings in PART_RULES:
            if rule_type == resource_type:
                self._apply_rule(_AppliedRule.of(node, suffix, info, explanation, _findings(findings)))


def _compliance(check: RuleCheck) -> Callable[[CfnResource], NagRuleCompliance]:
    def apply(node: CfnResource) -> NagRuleCompliance:
        return NagRuleCompliance.COMPLIANT if check(cfn_properties(node)) else NagRuleCompliance.NON_COMPLIANT

    return apply


def _findings(findings: Callable[[Properties], list[str]]) -> Callable[[CfnResource], Any]:
    def apply(node: CfnResource) -> Any:
        return findings(cfn_properties(node)) or NagRuleCompliance.COMPLIANT

    return apply
