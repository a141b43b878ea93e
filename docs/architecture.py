"""Draw docs/architecture.png from the synthesized app (one environment; staging, which has every part).

Every stack becomes a cluster; every resource type the picture knows becomes one node (with a
count when a stack has several); cross-stack references become edges. Later capabilities
appear as soon as their stacks exist; teach ``NODES`` a new resource type to show it.

    python docs/architecture.py [--env prod]   (needs Graphviz's ``dot``: make docs installs it)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aws_cdk import App  # noqa: E402
from diagrams import Cluster, Diagram, Edge  # noqa: E402
from diagrams.aws.compute import Lambda  # noqa: E402
from diagrams.aws.database import DynamodbTable  # noqa: E402
from diagrams.aws.integration import Eventbridge, SimpleNotificationServiceSns, SimpleQueueServiceSqs, StepFunctions  # noqa: E402  # noqa: E402
from diagrams.aws.management import Cloudformation, CloudwatchAlarm, CloudwatchLogs  # noqa: E402
from diagrams.aws.ml import SagemakerGroundTruth, SagemakerModel, SagemakerTrainingJob  # noqa: E402
from diagrams.aws.network import VPC, APIGateway, Endpoint, PrivateSubnet, VPCFlowLogs  # noqa: E402
from diagrams.aws.security import (  # noqa: E402
    KMS,
    Cognito,
    IAMRole,
)
from diagrams.aws.storage import SimpleStorageServiceS3Bucket  # noqa: E402

from app import build_app, cdk_json_context  # noqa: E402
from compliance.assembly import synthesized_stacks  # noqa: E402

# CloudFormation type -> (node class, label). Types not listed are left out of the picture.
NODES: dict[str, tuple[type, str]] = {
    "AWS::EC2::VPC": (VPC, "VPC (no NAT, no IGW)"),
    "AWS::EC2::Subnet": (PrivateSubnet, "isolated subnet"),
    "AWS::EC2::VPCEndpoint": (Endpoint, "VPC endpoint"),
    "AWS::EC2::FlowLog": (VPCFlowLogs, "flow log"),
    "AWS::Logs::LogGroup": (CloudwatchLogs, "log group"),
    "AWS::KMS::Key": (KMS, "KMS key"),
    "AWS::S3::Bucket": (SimpleStorageServiceS3Bucket, "bucket"),
    "AWS::SNS::Topic": (SimpleNotificationServiceSns, "SNS topic"),
    "AWS::SQS::Queue": (SimpleQueueServiceSqs, "dead-letter queue"),
    "AWS::Lambda::Function": (Lambda, "function"),
    "AWS::CloudWatch::Alarm": (CloudwatchAlarm, "alarm"),
    "AWS::IAM::Role": (IAMRole, "role"),
    "AWS::DynamoDB::Table": (DynamodbTable, "table"),
    "AWS::ApiGateway::RestApi": (APIGateway, "REST API (SigV4)"),
    "Custom::PromptSync": (Cloudformation, "prompts-as-code sync"),
    "AWS::StepFunctions::StateMachine": (StepFunctions, "workflow"),
    "AWS::Events::Rule": (Eventbridge, "EventBridge rule"),
    "AWS::Cognito::UserPool": (Cognito, "annotators"),
    "AWS::SageMaker::Workteam": (SagemakerGroundTruth, "Ground Truth workteam"),
    "AWS::SageMaker::Pipeline": (SagemakerTrainingJob, "fine-tuning pipeline"),
    "AWS::SageMaker::ModelPackageGroup": (SagemakerModel, "model registry"),
}


def synthesize(env: str, outdir: Path) -> dict[str, dict[str, Any]]:
    """``{stack name: template}`` for one environment, in deployment order."""
    app = App(outdir=str(outdir), context=cdk_json_context(env=env, gate="false"))
    build_app(app).synth()
    return {stack.name: stack.template() for stack in synthesized_stacks(outdir)}


def _is_cdk_helper(logical_id: str) -> bool:
    """aws-cdk-lib's deployment-time helpers, which are not part of the platform."""
    return "CustomResourceProvider" in logical_id or logical_id.startswith("BucketNotificationsHandler")


def cross_stack_edges(templates: dict[str, dict[str, Any]]) -> set[tuple[str, str]]:
    """(producer, consumer) for every cross-stack reference in the templates."""
    edges = set()
    for consumer, template in templates.items():
        text = json.dumps(template.get("Resources", {}))
        for producer in templates:
            if producer != consumer and (f'-{producer}"' in text or f"{producer}Export" in text):
                edges.add((producer, consumer))
    return edges


def draw(env: str, output: Path) -> None:
    with tempfile.TemporaryDirectory() as outdir:
        templates = synthesize(env, Path(outdir))
    graph_attr = {"fontsize": "20", "pad": "0.4", "splines": "spline"}
    with Diagram(
        f"LLMOps platform ({env})",
        filename=str(output.with_suffix("")),
        outformat="png",
        show=False,
        direction="TB",
        graph_attr=graph_attr,
    ):
        anchors = {}
        for stack, template in templates.items():
            counts = Counter(
                resource["Type"]
                for logical_id, resource in template["Resources"].items()
                # aws-cdk-lib's deployment-time helpers are not part of the platform
                if "CustomResourceProvider" not in logical_id
                and not logical_id.startswith("BucketNotificationsHandler")
            )
            with Cluster(f"{stack} stack"):
                nodes = [
                    node_class(label if counts[cfn_type] == 1 else f"{label} x{counts[cfn_type]}")
                    for cfn_type, (node_class, label) in NODES.items()
                    if counts[cfn_type]
                ]
                anchors[stack] = nodes[0]
        for producer, consumer in sorted(cross_stack_edges(templates)):
            anchors[producer] >> Edge(label="cross-stack reference", style="dashed") >> anchors[consumer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="staging")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "architecture.png")
    args = parser.parse_args()
    draw(args.env, args.output)


if __name__ == "__main__":
    main()
