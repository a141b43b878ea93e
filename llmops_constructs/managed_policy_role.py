"""An IAM role whose grants land in a customer-managed policy instead of an inline one."""

from __future__ import annotations

from typing import Any

from aws_cdk import aws_iam as iam
from constructs import Construct


class ManagedPolicyRole(iam.Role):
    """``iam.Role`` that collects every statement added to it (``grant_*``, ``add_to_policy``)
    in one customer-managed policy.

    NIST 800-53 and HIPAA forbid inline policies on roles; CDK's grants would otherwise write
    to the role's inline ``DefaultPolicy``. The managed policy is created with the first
    statement, so a role without grants has none.
    """

    def __init__(self, scope: Construct, construct_id: str, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self._grants_policy: iam.ManagedPolicy | None = None

    def add_to_principal_policy(self, statement: iam.PolicyStatement) -> iam.AddToPrincipalPolicyResult:
        if self._grants_policy is None:
            self._grants_policy = iam.ManagedPolicy(self, "GrantsPolicy", roles=[self])
        self._grants_policy.add_statements(statement)
        return iam.AddToPrincipalPolicyResult(statement_added=True, policy_dependable=self._grants_policy)

    @property
    def grants_policy(self) -> iam.ManagedPolicy | None:
        return self._grants_policy
