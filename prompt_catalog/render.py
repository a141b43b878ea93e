"""Rendering a prompt version in a sandbox.

Templates are Jinja2, evaluated by a ``SandboxedEnvironment`` with strict undefined variables:
a template cannot reach Python internals, an undeclared or missing variable is an error (never
a blank), and arithmetic that would build huge values is refused. An optional variable the
caller leaves out is ``none`` in the template.

The rendered structure, for every kind:

- text output: the instructions (if any), then ``Examples:`` with one ``Input:``/``Output:``
  pair per few-shot example, then the rendered template, then, for chain-of-thought, the
  chain-of-thought instruction; parts are separated by a blank line.
  Chat prompts list their rendered messages as ``Role: content`` paragraphs instead of the
  template.
- chat output: a ``system`` message with the instructions (if any), one ``user``/``assistant``
  message pair per example, then the rendered template as a ``user`` message (chat prompts:
  their own rendered messages instead); the chain-of-thought instruction ends the last
  ``user`` message.

Every result names the prompt, version and content hash it came from.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import SandboxedEnvironment

from prompt_catalog.errors import InvalidRequestError, RenderError
from prompt_catalog.model import DEFAULT_COT_INSTRUCTION, PromptContent, PromptVersion, Variable

MAX_OUTPUT_CHARS = 200_000
OUTPUTS = ("text", "chat")
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "list": (list,),
    "object": (dict,),
}


class _PromptSandbox(SandboxedEnvironment):
    """Jinja's sandbox, also refusing ``*`` and ``**`` results that would exhaust memory."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int | float) and abs(right) > 64:
                raise SecurityError("exponent too large")
            return operator.pow(left, right)
        if isinstance(left, str | list) or isinstance(right, str | list):
            count = right if isinstance(left, str | list) else left
            size = len(left) if isinstance(left, str | list) else len(right)
            if isinstance(count, int) and count * size > MAX_OUTPUT_CHARS:
                raise SecurityError("repetition result too large")
        return operator.mul(left, right)


ENVIRONMENT = _PromptSandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)


@dataclass(frozen=True)
class RenderedPrompt:
    name: str
    version: int
    content_hash: str
    output: str
    text: str | None
    messages: tuple[dict[str, str], ...] | None
    model_parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {
            "prompt": {"name": self.name, "version": self.version, "content_hash": self.content_hash},
            "output": self.output,
            "model_parameters": self.model_parameters,
        }
        if self.text is not None:
            result["text"] = self.text
        if self.messages is not None:
            result["messages"] = list(self.messages)
        return result


def templates_of(content: PromptContent) -> dict[str, str]:
    """Every template string of the content, by the field path that holds it."""
    found = {"template": content.template} if content.template else {}
    found.update({f"messages.{i}.content": m.content for i, m in enumerate(content.messages)})
    return found


def check_templates(content: PromptContent) -> None:
    """Every template parses and uses only declared variables; raise ``InvalidRequestError`` otherwise."""
    declared = {v.name for v in content.variables}
    for path, source in templates_of(content).items():
        try:
            parsed = ENVIRONMENT.parse(source)
        except TemplateSyntaxError as error:
            message = f"{path}: template syntax error on line {error.lineno}: {error.message}"
            raise InvalidRequestError(message) from None
        undeclared = sorted(meta.find_undeclared_variables(parsed) - declared)
        if undeclared:
            raise InvalidRequestError(f"{path}: uses undeclared variable {undeclared[0]!r}; declare it under variables")
        if next(parsed.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)), None):
            raise InvalidRequestError(f"{path}: extends, include and import are not allowed in prompt templates")


@lru_cache(maxsize=512)
def _compiled(source: str) -> Callable[..., str]:
    return ENVIRONMENT.from_string(source).render


def check_variables(content: PromptContent, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values to render with: declared, of the declared type, none missing."""
    if not isinstance(values, Mapping):
        raise RenderError("variables must be an object")
    undeclared = sorted(set(values) - {v.name for v in content.variables})
    if undeclared:
        raise RenderError(f"variable {undeclared[0]!r} is not declared by this prompt")
    checked: dict[str, Any] = {}
    for variable in content.variables:
        if variable.name not in values:
            if variable.required:
                raise RenderError(f"variable {variable.name!r} ({variable.type}) is required")
            checked[variable.name] = None  # optional and absent: test it with {% if name %}
            continue
        checked[variable.name] = _typed(variable, values[variable.name])
    return checked


def _typed(variable: Variable, value: Any) -> Any:
    expected = _PYTHON_TYPES[variable.type]
    if (isinstance(value, bool) and bool not in expected) or not isinstance(value, expected):
        raise RenderError(f"variable {variable.name!r} must be of type {variable.type}, got {type(value).__name__}")
    return value


def _render(source: str, values: Mapping[str, Any], path: str) -> str:
    try:
        rendered = _compiled(source)(**values)
    except SecurityError as error:
        raise RenderError(f"{path}: the template tried something the sandbox forbids ({error})") from None
    except UndefinedError as error:
        raise RenderError(f"{path}: {error.message}") from None
    except (TypeError, ValueError, ArithmeticError, LookupError) as error:
        raise RenderError(f"{path}: {type(error).__name__}: {error}") from None
    if len(rendered) > MAX_OUTPUT_CHARS:
        raise RenderError(f"{path}: rendered to {len(rendered)} characters, over the limit of {MAX_OUTPUT_CHARS}")
    return rendered


def render(prompt: PromptVersion, values: Mapping[str, Any], output: str = "text") -> RenderedPrompt:
    if output not in OUTPUTS:
        raise RenderError(f"output {output!r} is not one of {', '.join(OUTPUTS)}")
    content = prompt.content
    checked = check_variables(content, values)
    cot = (content.cot_instruction or DEFAULT_COT_INSTRUCTION) if content.kind == "chain-of-thought" else ""
    if content.kind == "chat":
        body = [
            {"role": m.role, "content": _render(m.content, checked, f"messages.{i}.content")}
            for i, m in enumerate(content.messages)
        ]
    else:
        body = [{"role": "user", "content": _render(content.template, checked, "template")}]
    parameters = content.model_parameters
    return RenderedPrompt(
        name=prompt.name,
        version=prompt.version,
        content_hash=prompt.content_hash,
        output=output,
        text=_text(content, body, cot) if output == "text" else None,
        messages=tuple(_chat_messages(content, body, cot)) if output == "chat" else None,
        model_parameters={
            key: list(value) if isinstance(value, tuple) else value
            for key, value in (
                ("temperature", parameters.temperature),
                ("top_p", parameters.top_p),
                ("max_tokens", parameters.max_tokens),
                ("stop_sequences", parameters.stop_sequences),
            )
            if value not in (None, ())
        },
    )


def _chat_messages(content: PromptContent, body: list[dict[str, str]], cot: str) -> list[dict[str, str]]:
    system = [m for m in body if m["role"] == "system"]
    rest = [m for m in body if m["role"] != "system"]
    if content.instructions:
        system.insert(0, {"role": "system", "content": content.instructions})
    shots = [
        message
        for example in content.examples
        for message in ({"role": "user", "content": example.input}, {"role": "assistant", "content": example.output})
    ]
    messages = [*system, *shots, *rest]
    if cot:
        last_user = max(i for i, m in enumerate(messages) if m["role"] == "user")
        messages[last_user] = {"role": "user", "content": f"{messages[last_user]['content']}\n\n{cot}"}
    return messages


def _text(content: PromptContent, body: list[dict[str, str]], cot: str) -> str:
    parts = [content.instructions] if content.instructions else []
    if content.examples:
        shots = "\n\n".join(f"Input: {e.input}\nOutput: {e.output}" for e in content.examples)
        parts.append(f"Examples:\n\n{shots}")
    if content.kind == "chat":
        parts.extend(f"{m['role'].capitalize()}: {m['content']}" for m in body)
    else:
        parts.append(body[0]["content"])
    if cot:
        parts.append(cot)
    return "\n\n".join(parts)
