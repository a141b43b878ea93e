"""The platform's network: an isolated VPC reaching AWS only through endpoints."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_kms as kms
from constructs import Construct

from llmops_constructs.builtin_providers import acknowledge_builtin_providers
from llmops_constructs.isolated_network import IsolatedNetwork
from llmops_constructs.retention import retention_days
from stacks.config import EnvironmentConfig


class NetworkStack(Stack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, logs_key: kms.IKey, **kwargs: object
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        network = config.network
        self.network = IsolatedNetwork(
            self,
            "Network",
            cidr=network.cidr,
            max_azs=network.max_azs,
            availability_zones=network.availability_zones,
            interface_endpoints=network.interface_endpoints,
            flow_log_key=logs_key,
            flow_log_retention=retention_days(network.flow_log_retention_days),
            retain=config.retains_data,
        )
        acknowledge_builtin_providers(self)
