"""A VPC with isolated subnets only: AWS services are reached through VPC endpoints."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from llmops_constructs.removal import removal_policy

SUBNET_GROUP = "Isolated"
HTTPS = ec2.Port.tcp(443)


class IsolatedNetwork(Construct):
    """VPC without NAT or internet gateways, gateway and interface endpoints, flow logs.

    ``workload_security_group`` is the group every platform workload (Lambda, SageMaker jobs
    and endpoints) joins; the interface endpoints admit HTTPS from that group only.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        max_azs: int,
        availability_zones: Sequence[str] = (),
        interface_endpoints: Sequence[str] = (),
        flow_log_key: kms.IKey,
        flow_log_retention: logs.RetentionDays,
        retain: bool,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=None if availability_zones else max_azs,
            availability_zones=list(availability_zones) or None,
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=True,
            subnet_configuration=[
                ec2.SubnetConfiguration(name=SUBNET_GROUP, subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=20)
            ],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
        )
        self.subnets = ec2.SubnetSelection(subnet_group_name=SUBNET_GROUP)

        self.workload_security_group = ec2.SecurityGroup(
            self,
            "WorkloadSecurityGroup",
            vpc=self.vpc,
            description="Platform workloads; egress is HTTPS to VPC endpoints only (no route to the internet)",
            allow_all_outbound=False,
        )
        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface endpoints; admits HTTPS from platform workloads only",
            allow_all_outbound=False,
        )
        self.endpoint_security_group.add_ingress_rule(
            self.workload_security_group, HTTPS, "HTTPS from platform workloads"
        )
        # Isolated subnets have no route to the internet: HTTPS egress reaches only the
        # interface endpoints and the S3/DynamoDB gateway endpoints (whose prefix-list ids are
        # regional and unknown at synth).
        self.workload_security_group.add_egress_rule(
            ec2.Peer.any_ipv4(), HTTPS, "HTTPS to VPC endpoints (no internet route exists)"
        )

        self.interface_endpoints = {
            name: self.vpc.add_interface_endpoint(
                _endpoint_id(name),
                service=ec2.InterfaceVpcEndpointAwsService(name),
                private_dns_enabled=True,
                open=False,
                security_groups=[self.endpoint_security_group],
                subnets=self.subnets,
            )
            for name in interface_endpoints
        }

        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogGroup",
            encryption_key=flow_log_key,
            retention=flow_log_retention,
            removal_policy=removal_policy(retain),
        )
        # A managed policy, not the inline policy a grant would add (NIST/HIPAA IAMNoInlinePolicy).
        flow_log_policy = iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            description="Lets VPC Flow Logs write to the platform's flow log group",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal("vpc-flow-logs.amazonaws.com"),
            managed_policies=[flow_log_policy],
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, flow_log_role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )


def _endpoint_id(service_name: str) -> str:
    """``sagemaker.runtime`` -> ``SagemakerRuntimeEndpoint``: stable PascalCase construct ids."""
    words = service_name.replace("-", ".").split(".")
    return "".join(word.capitalize() for word in words) + "Endpoint"
