"""One way to acknowledge a compliance finding, so docs/security.md can list them all."""

from __future__ import annotations

import json

from aws_cdk import Acknowledgment, CfnResource, Stack, Validations
from constructs import IConstruct


def acknowledge(scope: IConstruct, rule_id: str, reason: str) -> None:
    """Acknowledge ``rule_id`` (``Pack::Pack-Rule[finding]``) on ``scope`` and its children.

    The reason must tell a reviewer what makes the finding safe here; a blank or generic
    reason is refused.
    """
    if "::" not in rule_id:
        raise ValueError(f"rule id {rule_id!r} must be qualified by its pack, e.g. 'AwsSolutions::AwsSolutions-S1'")
    if len(reason.split()) < 6:
        raise ValueError(f"the reason for acknowledging {rule_id} must explain why it is safe: {reason!r}")
    Validations.of(scope).acknowledge(Acknowledgment(id=rule_id, reason=reason))


def acknowledge_all(scope: IConstruct, rule_ids: list[str] | tuple[str, ...], reason: str) -> None:
    """Acknowledge several findings that share one reason (the same gap seen by several packs)."""
    for rule_id in rule_ids:
        acknowledge(scope, rule_id, reason)


def skip_checkov(resource: CfnResource, check_id: str, comment: str) -> None:
    """Record a per-resource checkov skip (``Metadata.checkov.skip``) with its justification."""
    if len(comment.split()) < 6:
        raise ValueError(f"the comment for skipping {check_id} must explain why it is safe: {comment!r}")
    metadata = resource.get_metadata("checkov") or {"skip": []}
    metadata["skip"] = [*metadata["skip"], {"id": check_id, "comment": comment}]
    resource.add_metadata("checkov", metadata)


def wildcard_resource_finding(scope: IConstruct, arn: str, suffix: str) -> str:
    """The AwsSolutions-IAM5 finding id for ``arn + suffix`` as cdk-nag spells it.

    cdk-nag writes a same-stack ``Fn::GetAtt`` as ``<LogicalId.Arn>`` and any other token as its
    resolved JSON, so cross-stack ARNs can be acknowledged precisely too.
    """
    resolved = Stack.of(scope).resolve(arn)
    if isinstance(resolved, dict) and list(resolved) == ["Fn::GetAtt"]:
        text = f"<{resolved['Fn::GetAtt'][0]}.{resolved['Fn::GetAtt'][1]}>"
    elif isinstance(resolved, str):
        text = resolved
    elif _pseudo_parameter_join(resolved):
        text = "".join(part if isinstance(part, str) else f"<{part['Ref']}>" for part in resolved["Fn::Join"][1])
    else:
        text = json.dumps(resolved, separators=(",", ":"))
    return f"AwsSolutions::AwsSolutions-IAM5[Resource::{text}{suffix}]"


def _pseudo_parameter_join(resolved: object) -> bool:
    """``Fn::Join`` of literals and pseudo parameters, which cdk-nag writes as ``<AWS::AccountId>``."""
    if not (isinstance(resolved, dict) and list(resolved) == ["Fn::Join"] and resolved["Fn::Join"][0] == ""):
        return False
    return all(
        isinstance(part, str) or (isinstance(part, dict) and str(part.get("Ref", "")).startswith("AWS::"))
        for part in resolved["Fn::Join"][1]
    )
