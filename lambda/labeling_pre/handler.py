"""Ground Truth pre-annotation: a manifest line becomes the labeling task's input."""

from __future__ import annotations

import json
import os
from typing import Any

import boto3

from data_prep.labeling import pre_annotation


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    s3 = boto3.client("s3") if "source-ref" in event.get("dataObject", {}) else None
    return pre_annotation(event, json.loads(os.environ["LABELS"]), s3)
