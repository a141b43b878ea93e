"""Ground Truth annotation consolidation: workers' answers become one label per object."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from data_prep.labeling import post_annotation


def handler(event: dict[str, Any], context: Any) -> list[dict[str, Any]]:
    return post_annotation(
        event, boto3.client("s3"), task=os.environ["LABELING_TASK"], labels=json.loads(os.environ["LABELS"])
    )
