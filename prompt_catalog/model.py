"""Prompt content: what a version holds, validated field by field with messages naming the field.

A version's content is everything that affects the model's input: kind, template or chat
messages, declared variables, few-shot examples, instructions and model parameters, plus tags
and a description. Its ``content_hash`` (SHA-256 of the canonical JSON) identifies identical
content, so registering the same content twice returns the first version.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from prompt_catalog.errors import InvalidRequestError, TemplateTooLargeError

KINDS = ("zero-shot", "few-shot", "chain-of-thought", "chat")
ROLES = ("system", "user", "assistant")
VARIABLE_TYPES = ("string", "integer", "number", "boolean", "list", "object")
NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
ALIAS_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
VARIABLE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
MAX_TEMPLATE_CHARS = 32_000
MAX_EXAMPLES = 32
MAX_VARIABLES = 32
MAX_MESSAGES = 32
MAX_TAGS = 16
MAX_STOP_SEQUENCES = 8
DEFAULT_COT_INSTRUCTION = "Think step by step, then give the final answer on the last line."


@dataclass(frozen=True)
class Variable:
    name: str
    type: str = "string"
    description: str = ""
    required: bool = True


@dataclass(frozen=True)
class Example:
    input: str
    output: str


@dataclass(frozen=True)
class Message:
    role: str
    content: str


@dataclass(frozen=True)
class ModelParameters:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop_sequences: tuple[str, ...] = ()


@dataclass(frozen=True)
class PromptContent:
    kind: str
    template: str = ""
    messages: tuple[Message, ...] = ()
    variables: tuple[Variable, ...] = ()
    examples: tuple[Example, ...] = ()
    instructions: str = ""
    cot_instruction: str = ""
    model_parameters: ModelParameters = field(default_factory=ModelParameters)
    description: str = ""
    tags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return _plain(asdict(self))

    @property
    def content_hash(self) -> str:
        canonical = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return hashlib.sha256(canonical.encode()).hexdigest()

    def variable(self, name: str) -> Variable | None:
        return next((v for v in self.variables if v.name == name), None)


@dataclass(frozen=True)
class PromptVersion:
    name: str
    version: int
    content: PromptContent
    content_hash: str
    author: str
    created_at: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "content_hash": self.content_hash,
            "author": self.author,
            "created_at": self.created_at,
            **self.content.to_dict(),
        }


def _plain(value: Any) -> Any:
    """Tuples to lists, so content round-trips through JSON and DynamoDB unchanged."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def check_name(name: Any, what: str = "prompt name") -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InvalidRequestError(
            f"{what} {name!r} is invalid; use 1 to 64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name


def check_alias(alias: Any) -> str:
    if not isinstance(alias, str) or not ALIAS_PATTERN.fullmatch(alias):
        raise InvalidRequestError(
            f"alias {alias!r} is invalid; use 1 to 32 lowercase letters, digits or '-', starting with a letter"
        )
    return alias


class _Fields:
    """Reads one JSON object, naming the path of anything wrong with it."""

    def __init__(self, raw: Any, path: str, allowed: tuple[str, ...]) -> None:
        if not isinstance(raw, dict):
            raise InvalidRequestError(f"{path or 'content'} must be an object")
        unknown = sorted(set(raw) - set(allowed), key=str)
        if unknown:
            raise InvalidRequestError(f"{_join(path, unknown[0])}: unknown field; allowed: {', '.join(allowed)}")
        self.raw, self.path = raw, path

    def get(self, key: str, kind: type | tuple[type, ...], default: Any, *, required: bool = False) -> Any:
        if key not in self.raw:
            if required:
                raise InvalidRequestError(f"{_join(self.path, key)}: required field is missing")
            return default
        value = self.raw[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise InvalidRequestError(f"{_join(self.path, key)}: expected {_type_name(kind)}, got {value!r}")
        if not isinstance(value, kind):
            raise InvalidRequestError(f"{_join(self.path, key)}: expected {_type_name(kind)}, got {_describe(value)}")
        return value

    def text(self, key: str, limit: int, *, required: bool = False) -> str:
        value: str = self.get(key, str, "", required=required)
        if len(value) > limit:
            path = _join(self.path, key)
            raise TemplateTooLargeError(f"{path}: {len(value)} characters is over the limit of {limit}")
        return value

    def items(self, key: str, limit: int) -> list[Any]:
        value: list[Any] = self.get(key, list, [])
        if len(value) > limit:
            raise InvalidRequestError(f"{_join(self.path, key)}: {len(value)} items is over the limit of {limit}")
        return value

    def number(self, key: str, low: float, high: float, *, integer: bool = False) -> Any:
        value = self.get(key, int if integer else (int, float), None)
        if value is not None and not low <= value <= high:
            raise InvalidRequestError(f"{_join(self.path, key)}: {value!r} is outside {low:g} to {high:g}")
        return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        return "a number"
    names = {str: "a string", int: "an integer", bool: "a boolean", list: "a list", dict: "an object"}
    return " or ".join(names[k] for k in kinds)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 40 else f"a {type(value).__name__}"


CONTENT_FIELDS = (
    "kind",
    "template",
    "messages",
    "variables",
    "examples",
    "instructions",
    "cot_instruction",
    "model_parameters",
    "description",
    "tags",
)


def parse_content(raw: Any) -> PromptContent:
    """Validate a version's content (a JSON object) into ``PromptContent``; raise ``InvalidRequestError``."""
    fields = _Fields(raw, "", CONTENT_FIELDS)
    kind = fields.get("kind", str, None, required=True)
    if kind not in KINDS:
        raise InvalidRequestError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    template = fields.text("template", MAX_TEMPLATE_CHARS)
    messages = tuple(_message(item, f"messages.{i}") for i, item in enumerate(fields.items("messages", MAX_MESSAGES)))
    if kind == "chat" and (template or not messages):
        raise InvalidRequestError("messages: a chat prompt has messages and no template")
    if kind != "chat" and (messages or not template.strip()):
        raise InvalidRequestError(f"template: a {kind} prompt has a non-empty template and no messages")
    examples = tuple(_example(item, f"examples.{i}") for i, item in enumerate(fields.items("examples", MAX_EXAMPLES)))
    if kind == "few-shot" and not examples:
        raise InvalidRequestError("examples: a few-shot prompt needs at least one example")
    variables = tuple(
        _variable(item, f"variables.{i}") for i, item in enumerate(fields.items("variables", MAX_VARIABLES))
    )
    names = [v.name for v in variables]
    duplicate = next((n for n in names if names.count(n) > 1), None)
    if duplicate:
        raise InvalidRequestError(f"variables: {duplicate!r} is declared more than once")
    tags = tuple(fields.items("tags", MAX_TAGS))
    if not all(isinstance(tag, str) and 0 < len(tag) <= 64 for tag in tags):
        raise InvalidRequestError("tags: expected strings of 1 to 64 characters")
    total = len(template) + sum(len(m.content) for m in messages) + sum(len(e.input) + len(e.output) for e in examples)
    if total > MAX_TEMPLATE_CHARS:
        raise TemplateTooLargeError(
            f"content: {total} characters of template, messages and examples is over {MAX_TEMPLATE_CHARS}"
        )
    content = PromptContent(
        kind=kind,
        template=template,
        messages=messages,
        variables=variables,
        examples=examples,
        instructions=fields.text("instructions", MAX_TEMPLATE_CHARS),
        cot_instruction=fields.text("cot_instruction", 2_000),
        model_parameters=_model_parameters(fields.get("model_parameters", dict, {})),
        description=fields.text("description", 1_000),
        tags=tuple(sorted(set(tags))),
    )
    from prompt_catalog.render import check_templates  # render imports this module

    check_templates(content)
    return content


def _message(raw: Any, path: str) -> Message:
    fields = _Fields(raw, path, ("role", "content"))
    role = fields.get("role", str, None, required=True)
    if role not in ROLES:
        raise InvalidRequestError(f"{path}.role: {role!r} is not one of {', '.join(ROLES)}")
    return Message(role=role, content=fields.text("content", MAX_TEMPLATE_CHARS, required=True))


def _example(raw: Any, path: str) -> Example:
    fields = _Fields(raw, path, ("input", "output"))
    return Example(
        input=fields.text("input", MAX_TEMPLATE_CHARS, required=True),
        output=fields.text("output", MAX_TEMPLATE_CHARS, required=True),
    )


def _variable(raw: Any, path: str) -> Variable:
    fields = _Fields(raw, path, ("name", "type", "description", "required"))
    name = fields.get("name", str, None, required=True)
    if not VARIABLE_PATTERN.fullmatch(name):
        raise InvalidRequestError(f"{path}.name: {name!r} is not a valid variable name")
    kind = fields.get("type", str, "string")
    if kind not in VARIABLE_TYPES:
        raise InvalidRequestError(f"{path}.type: {kind!r} is not one of {', '.join(VARIABLE_TYPES)}")
    return Variable(
        name=name,
        type=kind,
        description=fields.text("description", 1_000),
        required=fields.get("required", bool, True),
    )


def _model_parameters(raw: Any) -> ModelParameters:
    fields = _Fields(raw, "model_parameters", ("temperature", "top_p", "max_tokens", "stop_sequences"))
    stops = tuple(fields.items("stop_sequences", MAX_STOP_SEQUENCES))
    if not all(isinstance(stop, str) and 0 < len(stop) <= 100 for stop in stops):
        raise InvalidRequestError("model_parameters.stop_sequences: expected strings of 1 to 100 characters")
    return ModelParameters(
        temperature=fields.number("temperature", 0, 2),
        top_p=fields.number("top_p", 0, 1),
        max_tokens=fields.number("max_tokens", 1, 1_000_000, integer=True),
        stop_sequences=stops,
    )


def content_from_dict(data: dict[str, Any]) -> PromptContent:
    """Rebuild content that was stored after validation (no re-validation of limits)."""
    parameters = data.get("model_parameters") or {}
    return PromptContent(
        kind=data["kind"],
        template=data.get("template", ""),
        messages=tuple(Message(**m) for m in data.get("messages", [])),
        variables=tuple(Variable(**v) for v in data.get("variables", [])),
        examples=tuple(Example(**e) for e in data.get("examples", [])),
        instructions=data.get("instructions", ""),
        cot_instruction=data.get("cot_instruction", ""),
        model_parameters=ModelParameters(
            temperature=parameters.get("temperature"),
            top_p=parameters.get("top_p"),
            max_tokens=parameters.get("max_tokens"),
            stop_sequences=tuple(parameters.get("stop_sequences", [])),
        ),
        description=data.get("description", ""),
        tags=tuple(data.get("tags", [])),
    )
