"""Reading ``prompts/*.yaml``: one prompt per file, named like the file.

A file holds the prompt's ``name`` and its content fields (``kind``, ``template`` or
``messages``, ``variables``, ``examples``, ``instructions``, ``cot_instruction``,
``model_parameters``, ``description``, ``tags``); see prompts/README.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from prompt_catalog.errors import CatalogError
from prompt_catalog.sync import parse_prompt_definitions


class PromptFileError(ValueError):
    """A prompt file that cannot be synced; the message names the file."""


def load_prompt_definitions(directory: Path) -> list[dict[str, Any]]:
    """Every ``*.yaml`` in ``directory``, validated, sorted by name, as plain definitions."""
    definitions = []
    for path in sorted(directory.glob("*.yaml")):
        try:
            definition = yaml.safe_load(path.read_text())
        except yaml.YAMLError as error:
            raise PromptFileError(f"{path}: not valid YAML: {error}") from None
        if not isinstance(definition, dict):
            raise PromptFileError(f"{path}: expected a mapping with a name and the prompt's content")
        if definition.get("name") != path.stem:
            raise PromptFileError(f"{path}: name {definition.get('name')!r} must equal the file name {path.stem!r}")
        try:
            parse_prompt_definitions([definition])
        except (CatalogError, ValueError) as error:
            raise PromptFileError(f"{path}: {error}") from None
        definitions.append(definition)
    return definitions
