"""Network: isolated subnets only, endpoints behind a workload-only security group, flow logs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.config import PlatformConfig
from tests.conftest import ENVIRONMENTS, SynthesizedPlatform, resources_of


def network(platform: SynthesizedPlatform, env: str) -> dict[str, Any]:
    return platform.template_json(env, "Network")


def _security_group_id(template: dict[str, Any], construct_fragment: str) -> str:
    matches = [
        logical_id
        for logical_id, _ in resources_of(template, "AWS::EC2::SecurityGroup")
        if construct_fragment in logical_id
    ]
    assert len(matches) == 1, matches
    return matches[0]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_route_to_the_internet(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template(env, "Network")
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    template.resource_count_is("AWS::EC2::InternetGateway", 0)
    template.resource_count_is("AWS::EC2::EIP", 0)
    for _, route in resources_of(network(platform, env), "AWS::EC2::Route"):
        assert "DestinationCidrBlock" not in route["Properties"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_subnets_are_private_and_span_the_configured_zones(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    subnets = [subnet["Properties"] for _, subnet in resources_of(network(platform, env), "AWS::EC2::Subnet")]
    expected_zones = min(platform_config.environment(env).network.az_count, 3)
    assert len(subnets) == expected_zones
    assert all(subnet["MapPublicIpOnLaunch"] is False for subnet in subnets)


def test_dev_is_one_zone_and_prod_spans_at_least_two(platform: SynthesizedPlatform) -> None:
    assert len(list(resources_of(network(platform, "dev"), "AWS::EC2::Subnet"))) == 1
    prod_zones = {
        subnet["Properties"]["AvailabilityZone"]
        for _, subnet in resources_of(network(platform, "prod"), "AWS::EC2::Subnet")
    }
    assert len(prod_zones) >= 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_s3_and_dynamodb_gateway_endpoints(platform: SynthesizedPlatform, env: str) -> None:
    template = platform.template(env, "Network")
    for service in ("s3", "dynamodb"):
        template.has_resource_properties(
            "AWS::EC2::VPCEndpoint",
            {
                "VpcEndpointType": "Gateway",
                "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", {"Ref": "AWS::Region"}, f".{service}"]]},
            },
        )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_interface_endpoints_are_the_configured_set_behind_the_endpoint_group(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    template = network(platform, env)
    endpoint_group = _security_group_id(template, "EndpointSecurityGroup")
    interface = [
        endpoint["Properties"]
        for _, endpoint in resources_of(template, "AWS::EC2::VPCEndpoint")
        if endpoint["Properties"].get("VpcEndpointType") == "Interface"
    ]
    prefix = f"com.amazonaws.{platform_config.environment(env).region}."
    services = sorted(endpoint["ServiceName"].removeprefix(prefix) for endpoint in interface)
    assert services == sorted(platform_config.environment(env).network.interface_endpoints)
    for endpoint in interface:
        assert endpoint["PrivateDnsEnabled"] is True
        assert endpoint["SecurityGroupIds"] == [{"Fn::GetAtt": [endpoint_group, "GroupId"]}]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_endpoints_admit_https_from_the_workload_group_only(platform: SynthesizedPlatform, env: str) -> None:
    template = network(platform, env)
    endpoint_group = _security_group_id(template, "EndpointSecurityGroup")
    workload_group = _security_group_id(template, "WorkloadSecurityGroup")
    properties = template["Resources"][endpoint_group]["Properties"]
    assert "SecurityGroupIngress" not in properties  # no CIDR-based ingress
    ingress = [
        rule["Properties"]
        for _, rule in resources_of(template, "AWS::EC2::SecurityGroupIngress")
        if rule["Properties"]["GroupId"] == {"Fn::GetAtt": [endpoint_group, "GroupId"]}
    ]
    assert ingress == [
        {
            "Description": "HTTPS from platform workloads",
            "FromPort": 443,
            "GroupId": {"Fn::GetAtt": [endpoint_group, "GroupId"]},
            "IpProtocol": "tcp",
            "SourceSecurityGroupId": {"Fn::GetAtt": [workload_group, "GroupId"]},
            "ToPort": 443,
        }
    ]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_workloads_may_only_leave_over_https(platform: SynthesizedPlatform, env: str) -> None:
    template = network(platform, env)
    workload_group = template["Resources"][_security_group_id(template, "WorkloadSecurityGroup")]["Properties"]
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"]) for rule in workload_group["SecurityGroupEgress"]
    ] == [("tcp", 443, 443)]
    assert "SecurityGroupIngress" not in workload_group


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_default_security_group_is_closed(platform: SynthesizedPlatform, env: str) -> None:
    platform.template(env, "Network").has_resource_properties(
        "Custom::VpcRestrictDefaultSG",
        {"DefaultSecurityGroupId": {"Fn::GetAtt": [Match.any_value(), "DefaultSecurityGroup"]}},
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_flow_logs_capture_all_traffic_into_an_encrypted_log_group(
    platform: SynthesizedPlatform, platform_config: PlatformConfig, env: str
) -> None:
    template = platform.template(env, "Network")
    template.has_resource_properties(
        "AWS::EC2::FlowLog", {"TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs", "ResourceType": "VPC"}
    )
    template.has_resource_properties(
        "AWS::Logs::LogGroup",
        {
            "KmsKeyId": {
                "Fn::GetStackOutput": Match.object_like(
                    {
                        "StackName": f"LlmOps-{env}-Observability",
                        "OutputName": Match.string_like_regexp("ObservabilityKey"),
                    }
                )
            },
            "RetentionInDays": platform_config.environment(env).network.flow_log_retention_days,
        },
    )
    template.resource_count_is("AWS::IAM::Policy", 0)  # the flow log role uses a managed policy


def test_flow_logs_are_retained_in_prod_only(platform: SynthesizedPlatform) -> None:
    platform.template("prod", "Network").has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})
    platform.template("dev", "Network").has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Delete"})
