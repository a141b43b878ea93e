"""The fine-tuning SageMaker pipeline, its two roles, its job network and its code.

Two roles, least privilege each: the pipeline role starts and watches jobs and registers model
packages; the job role is what the jobs run as (read the data and the base model, write the
model and the evaluation under the run's prefix, use the data key, log). Jobs run in the
isolated subnets with network isolation, encrypted volumes and outputs, and inter-container
traffic encryption when distributed. The definition is built by ``pipelines.fine_tuning``
with placeholders, then bound to this app's resources with ``Fn::Sub``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from aws_cdk import ArnFormat, CfnResource, Fn, Names, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from llmops_constructs.acknowledge import acknowledge, acknowledge_all, skip_checkov, wildcard_resource_finding
from llmops_constructs.code_bundle import CodeBundle
from llmops_constructs.managed_policy_role import ManagedPolicyRole
from pipelines.fine_tuning import JobResources, job_images, pipeline_definition
from stacks.config import EnvironmentConfig

REPOSITORY_ROOT = Path(__file__).resolve().parent.parent
CODE_MEMBERS = ("pipelines/__init__.py", "pipelines/scripts")
ROLE_PLACEHOLDER = "arn:aws:iam::000000000000:role/llmops-placeholder-job-role"
PIPELINE_JOB_PREFIX = "pipelines-"
JOB_ARN_KINDS = ("processing-job", "training-job")


def bind(definition: str, variables: dict[str, str]) -> str:
    """``Fn::Sub`` of the definition; refuses a ``${...}`` that is not one of ours."""
    unknown = set(re.findall(r"\$\{([^}]*)\}", definition)) - variables.keys()
    if unknown:
        raise ValueError(f"the pipeline definition holds ${{...}} that Fn::Sub would read: {sorted(unknown)}")
    return Fn.sub(definition, variables)


class FineTuningPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        vpc: ec2.IVpc,
        subnets: ec2.SubnetSelection,
        data_key: kms.IKey,
        artifacts_bucket: s3.IBucket,
        curated_bucket: s3.IBucket,
        job_data_policy: iam.IManagedPolicy,
        pipeline_data_policy: iam.IManagedPolicy,
        model_package_group_name: str,
    ) -> None:
        super().__init__(scope, construct_id)
        self.security_group = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=vpc,
            description="SageMaker fine-tuning jobs: each other (distributed training) and HTTPS in the VPC",
            allow_all_outbound=False,
        )
        if config.training.instance_count > 1:
            self._allow_traffic_between_nodes()
        self.security_group.add_egress_rule(
            ec2.Peer.ipv4(config.network.cidr), ec2.Port.HTTPS, "S3 gateway and interface endpoints"
        )
        self.code = CodeBundle(self, "Code", root=REPOSITORY_ROOT, members=CODE_MEMBERS)
        self.job_role = self._job_role(data_key, job_data_policy, job_images(config))
        self.role = self._pipeline_role(data_key, pipeline_data_policy, model_package_group_name)

        subnet_ids = vpc.select_subnets(
            subnet_group_name=subnets.subnet_group_name, subnet_type=subnets.subnet_type
        ).subnet_ids
        resources = JobResources(
            role_arn=ROLE_PLACEHOLDER,
            artifacts_bucket="${ArtifactsBucket}",
            curated_bucket="${CuratedBucket}",
            kms_key_arn="${DataKeyArn}",
            subnet_ids=tuple(f"${{Subnet{index}}}" for index in range(len(subnet_ids))),
            security_group_ids=("${SecurityGroup}",),
            code_uri=f"s3://${{CodeBucket}}/{self.code.file_name}",
            model_package_group="${ModelPackageGroup}",
        )
        self.pipeline_name = Names.unique_resource_name(self, max_length=80, separator="-")
        definition = pipeline_definition(config, resources, self.pipeline_name)
        definition = definition.replace(ROLE_PLACEHOLDER, "${JobRoleArn}")
        variables = {
            "JobRoleArn": self.job_role.role_arn,
            "ArtifactsBucket": artifacts_bucket.bucket_name,
            "CuratedBucket": curated_bucket.bucket_name,
            "DataKeyArn": data_key.key_arn,
            "SecurityGroup": self.security_group.security_group_id,
            "CodeBucket": self.code.asset.s3_bucket_name,
            "ModelPackageGroup": model_package_group_name,
        } | {f"Subnet{index}": subnet_id for index, subnet_id in enumerate(subnet_ids)}
        self.pipeline = sagemaker.CfnPipeline(
            self,
            "Pipeline",
            pipeline_name=self.pipeline_name,
            pipeline_description="Fine-tuning: preprocess, train, evaluate, quality gate, register",
            role_arn=self.role.role_arn,
            pipeline_definition={"PipelineDefinitionBody": bind(definition, variables)},
        )
        self.pipeline.node.add_dependency(self.role)
        self.pipeline_arn = Stack.of(self).format_arn(
            service="sagemaker", resource="pipeline", resource_name=self.pipeline_name.lower()
        )

    def grant_start_execution(self, grantee: iam.IGrantable) -> iam.Grant:
        """Start runs of this pipeline and follow them (what orchestration needs)."""
        executions = Stack.of(self).format_arn(
            service="sagemaker", resource="pipeline", resource_name=f"{self.pipeline_name.lower()}/execution/*"
        )
        return iam.Grant.add_to_principal(
            grantee=grantee,
            actions=[
                "sagemaker:StartPipelineExecution",
                "sagemaker:DescribePipelineExecution",
                "sagemaker:ListPipelineExecutionSteps",
                "sagemaker:StopPipelineExecution",
            ],
            resource_arns=[self.pipeline_arn, executions],
        )

    def _allow_traffic_between_nodes(self) -> None:
        group = self.security_group
        group.add_ingress_rule(group, ec2.Port.all_traffic(), "between the nodes of a distributed job")
        group.add_egress_rule(group, ec2.Port.all_traffic(), "between the nodes of a distributed job")
        reason = (
            "Nodes of one distributed training job exchange gradients over NCCL and EFA, which need all "
            "traffic between members of this group; the source is this group only, never an address range"
        )
        acknowledge_all(
            group,
            [
                "NIST.800.53.R5::NIST.800.53.R5-EC2RestrictedCommonPorts",
                "HIPAA.Security::HIPAA.Security-EC2RestrictedCommonPorts",
            ],
            reason,
        )

    def _job_role(
        self, data_key: kms.IKey, data_policy: iam.IManagedPolicy, images: Sequence[str]
    ) -> ManagedPolicyRole:
        stack = Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "JobRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="What the fine-tuning pipeline's processing and training jobs run as",
            managed_policies=[data_policy],
        )
        data_key.grant(role, "kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
        _grant_volume_encryption(role, data_key)
        code_object = f"arn:{stack.partition}:s3:::{self.code.asset.s3_bucket_name}/{self.code.asset.s3_object_key}"
        role.add_to_principal_policy(iam.PolicyStatement(actions=["s3:GetObject"], resources=[code_object]))
        log_groups = [
            stack.format_arn(
                service="logs",
                resource="log-group",
                resource_name=f"/aws/sagemaker/{kind}",
                arn_format=ArnFormat.COLON_RESOURCE_NAME,
            )
            for kind in ("ProcessingJobs", "TrainingJobs")
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:DescribeLogStreams"],
                resources=log_groups,
            )
        )
        streams = [f"{group}:log-stream:*" for group in log_groups]
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=streams)
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringLike": {"cloudwatch:namespace": "/aws/sagemaker/*"}},
            )
        )
        role.add_to_principal_policy(iam.PolicyStatement(actions=["ecr:GetAuthorizationToken"], resources=["*"]))
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                resources=sorted({repository_arn(image) for image in images}),
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:CreateNetworkInterfacePermission",
                    "ec2:DeleteNetworkInterface",
                    "ec2:DeleteNetworkInterfacePermission",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeDhcpOptions",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeSecurityGroups",
                ],
                resources=["*"],
            )
        )
        policy = role.grants_policy
        assert policy is not None
        wildcard_reason = (
            "ECR authorization tokens, VPC network interface management and metric data have no "
            "resource-level permissions; metric data is limited to SageMaker's namespace by condition"
        )
        acknowledge(policy, "AwsSolutions::AwsSolutions-IAM5[Resource::*]", wildcard_reason)
        resource = policy.node.default_child
        assert isinstance(resource, CfnResource)
        skip_checkov(resource, "CKV_AWS_111", wildcard_reason)
        skip_checkov(
            resource,
            "CKV_AWS_109",
            "ec2:CreateNetworkInterfacePermission lets SageMaker attach the job's network interfaces in "
            "this VPC; it has no resource-level permissions and grants nothing on IAM",
        )
        for stream in streams:
            acknowledge(
                policy,
                wildcard_resource_finding(self, stream, ""),
                "SageMaker names each job's log streams after the job when it starts; the group is fixed",
            )
        return role

    def _pipeline_role(
        self, data_key: kms.IKey, data_policy: iam.IManagedPolicy, model_package_group_name: str
    ) -> ManagedPolicyRole:
        stack = Stack.of(self)
        role = ManagedPolicyRole(
            self,
            "PipelineRole",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="What the fine-tuning pipeline runs as: starts its jobs and registers models",
            managed_policies=[data_policy],
        )
        jobs = [
            stack.format_arn(service="sagemaker", resource=kind, resource_name=f"{PIPELINE_JOB_PREFIX}*")
            for kind in JOB_ARN_KINDS
        ]
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=[
                    "sagemaker:CreateProcessingJob",
                    "sagemaker:DescribeProcessingJob",
                    "sagemaker:StopProcessingJob",
                    "sagemaker:CreateTrainingJob",
                    "sagemaker:DescribeTrainingJob",
                    "sagemaker:StopTrainingJob",
                    "sagemaker:AddTags",
                ],
                resources=jobs,
            )
        )
        packages = stack.format_arn(
            service="sagemaker", resource="model-package", resource_name=f"{model_package_group_name}/*"
        )
        group = stack.format_arn(
            service="sagemaker", resource="model-package-group", resource_name=model_package_group_name
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["sagemaker:CreateModelPackage", "sagemaker:DescribeModelPackage", "sagemaker:AddTags"],
                resources=[group, packages],
            )
        )
        self.job_role.grant_pass_role(role)
        data_key.grant(role, "kms:Decrypt", "kms:DescribeKey")
        _grant_volume_encryption(role, data_key)
        policy = role.grants_policy
        assert policy is not None
        for job in jobs:
            acknowledge(
                policy,
                wildcard_resource_finding(self, job, ""),
                "SageMaker Pipelines names the jobs it starts pipelines-<execution>-<step> at run time",
            )
        acknowledge(
            policy,
            wildcard_resource_finding(self, packages, ""),
            "Model package versions are numbered by the registry when the Register step runs",
        )
        return role


def _grant_volume_encryption(role: iam.IRole, key: kms.IKey) -> None:
    """Let SageMaker attach the key to the job's volumes (a grant for an AWS resource only)."""
    role.add_to_principal_policy(
        iam.PolicyStatement(
            actions=["kms:CreateGrant"],
            resources=[key.key_arn],
            conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
        )
    )


def repository_arn(image: str) -> str:
    """The ECR repository of an image URI, as an ARN."""
    match = re.fullmatch(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com/([\w./-]+):[\w.-]+", image)
    if match is None:
        raise ValueError(f"{image!r} is not an ECR image URI")
    account, region, repository = match.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{repository}"
