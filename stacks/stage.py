"""One deployment of the platform: every stack of one environment."""

from __future__ import annotations

from typing import Any

from aws_cdk import Environment, Stage, Tags
from constructs import Construct

from llmops_constructs.retention import retention_days
from llmops_constructs.secure_function import FunctionPlatform
from stacks.config import EnvironmentConfig
from stacks.data_lake_stack import DataLakeStack
from stacks.data_prep_stack import DataPrepStack
from stacks.fine_tuning_stack import FineTuningStack
from stacks.network_stack import NetworkStack
from stacks.observability_stack import ObservabilityStack
from stacks.prompt_catalog_stack import PromptCatalogStack


class LlmOpsStage(Stage):
    """Stacks of one environment, deployed as ``<Project>-<env>/*``."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        prompt_definitions: list[dict[str, Any]],
    ) -> None:
        super().__init__(scope, construct_id, env=Environment(account=config.account, region=config.region))
        self.config = config
        self.observability = ObservabilityStack(
            self, "Observability", config=config, description="LLMOps platform: keys for logs and the alarm topic"
        )
        self.network = NetworkStack(
            self,
            "Network",
            config=config,
            logs_key=self.observability.key,
            description="LLMOps platform: isolated VPC, endpoints and flow logs",
        )
        self.data_lake = DataLakeStack(
            self, "DataLake", config=config, description="LLMOps platform: data lake buckets and their key"
        )
        network = self.network.network
        functions = FunctionPlatform(
            vpc=network.vpc,
            subnets=network.subnets,
            security_groups=(network.workload_security_group,),
            encryption_key=self.observability.key,
            alarm_topic=self.observability.alarm_topic,
            log_retention=retention_days(config.observability.log_retention_days),
        )
        self.prompt_catalog = PromptCatalogStack(
            self,
            "PromptCatalog",
            config=config,
            functions=functions,
            prompt_definitions=prompt_definitions,
            description="LLMOps platform: versioned prompt catalog, its API and prompts as code",
        )
        self.data_prep = DataPrepStack(
            self,
            "DataPrep",
            config=config,
            functions=functions,
            data_key=self.data_lake.key,
            data_lake=self.data_lake,
            description="LLMOps platform: data preparation (Textract, Comprehend, transforms, Ground Truth)",
        )
        self.fine_tuning = FineTuningStack(
            self,
            "FineTuning",
            config=config,
            network=network,
            data_lake=self.data_lake,
            platform_key=self.observability.key,
            alarm_topic=self.observability.alarm_topic,
            description="LLMOps platform: fine-tuning pipeline, model registry and approval events",
        )
        Tags.of(self).add("llmops:environment", config.name)
        for key, value in config.tags.items():
            Tags.of(self).add(key, value)
