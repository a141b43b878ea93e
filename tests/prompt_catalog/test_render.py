"""Rendering: the documented structure, strict variables, and a sandbox nothing escapes."""

from __future__ import annotations

import re
from typing import Any

import pytest

from prompt_catalog.errors import InvalidRequestError, RenderError
from prompt_catalog.model import PromptVersion, parse_content
from prompt_catalog.render import render


def version(raw: dict[str, Any], number: int = 3) -> PromptVersion:
    content = parse_content(raw)
    return PromptVersion("demo", number, content, content.content_hash, "tester", "2026-01-01T00:00:00.000+00:00")


FEW_SHOT = {
    "kind": "few-shot",
    "instructions": "You extract vendors.",
    "template": "Document: {{ text }}",
    "variables": [{"name": "text"}],
    "examples": [{"input": "Invoice from ACME", "output": "ACME"}, {"input": "Bill by Initech", "output": "Initech"}],
    "model_parameters": {"temperature": 0, "stop_sequences": ["\n"]},
}
COT = {
    "kind": "chain-of-thought",
    "template": "Q: {{ question }}",
    "variables": [{"name": "question"}],
    "cot_instruction": "Reason step by step.",
}


def test_few_shot_text_structure_and_attribution() -> None:
    prompt = version(FEW_SHOT)
    result = render(prompt, {"text": "Receipt: Globex"}).to_dict()
    assert result["text"] == (
        "You extract vendors.\n\n"
        "Examples:\n\nInput: Invoice from ACME\nOutput: ACME\n\nInput: Bill by Initech\nOutput: Initech\n\n"
        "Document: Receipt: Globex"
    )
    assert result["prompt"] == {"name": "demo", "version": 3, "content_hash": prompt.content_hash}
    assert result["model_parameters"] == {"temperature": 0, "stop_sequences": ["\n"]}


def test_few_shot_chat_structure() -> None:
    result = render(version(FEW_SHOT), {"text": "Receipt: Globex"}, output="chat").to_dict()
    assert result["messages"] == [
        {"role": "system", "content": "You extract vendors."},
        {"role": "user", "content": "Invoice from ACME"},
        {"role": "assistant", "content": "ACME"},
        {"role": "user", "content": "Bill by Initech"},
        {"role": "assistant", "content": "Initech"},
        {"role": "user", "content": "Document: Receipt: Globex"},
    ]
    assert "text" not in result


def test_chain_of_thought_instruction_ends_the_prompt() -> None:
    assert render(version(COT), {"question": "2+2?"}).text == "Q: 2+2?\n\nReason step by step."
    messages = render(version(COT), {"question": "2+2?"}, output="chat").messages
    assert messages == ({"role": "user", "content": "Q: 2+2?\n\nReason step by step."},)
    default = render(version({**COT, "cot_instruction": ""}), {"question": "?"}).text
    assert default is not None and default.endswith("Think step by step, then give the final answer on the last line.")


def test_chat_prompts_render_every_message() -> None:
    chat = {
        "kind": "chat",
        "messages": [{"role": "system", "content": "Answer in {{ lang }}."}, {"role": "user", "content": "{{ q }}"}],
        "variables": [{"name": "lang"}, {"name": "q"}],
    }
    result = render(version(chat), {"lang": "French", "q": "Hello?"}, output="chat")
    assert result.messages == (
        {"role": "system", "content": "Answer in French."},
        {"role": "user", "content": "Hello?"},
    )
    assert render(version(chat), {"lang": "French", "q": "Hello?"}).text == "System: Answer in French.\n\nUser: Hello?"


TYPED = {
    "kind": "zero-shot",
    "template": "{% for item in items %}{{ item }} x{{ count }}{% if urgent %}!{% endif %};{% endfor %}",
    "variables": [
        {"name": "items", "type": "list"},
        {"name": "count", "type": "integer"},
        {"name": "urgent", "type": "boolean", "required": False},
    ],
}


def test_typed_variables_render() -> None:
    assert render(version(TYPED), {"items": ["a", "b"], "count": 2}).text == "a x2;b x2;"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"items": ["a"]}, "variable 'count' (integer) is required"),
        ({"items": ["a"], "count": "2"}, "variable 'count' must be of type integer, got str"),
        ({"items": ["a"], "count": True}, "variable 'count' must be of type integer, got bool"),
        ({"items": "ab", "count": 1}, "variable 'items' must be of type list, got str"),
        ({"items": [], "count": 1, "extra": 1}, "variable 'extra' is not declared by this prompt"),
    ],
)
def test_a_bad_variable_is_an_error_never_a_blank(values: dict[str, Any], message: str) -> None:
    with pytest.raises(RenderError, match=re.escape(message)):
        render(version(TYPED), values)


def test_attributes_of_a_value_that_do_not_exist_are_errors() -> None:
    prompt = version(
        {"kind": "zero-shot", "template": "{{ doc.title }}", "variables": [{"name": "doc", "type": "object"}]}
    )
    assert render(prompt, {"doc": {"title": "T"}}).text == "T"
    with pytest.raises(RenderError, match="has no attribute 'title'"):
        render(prompt, {"doc": {}})


INJECTIONS = [
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ x.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    "{{ lipsum.__globals__['os'].popen('id').read() }}",
    "{{ x.__class__.__base__.__subclasses__() }}",
    "{{ ''['__class__'] }}",
    "{{ x|attr('__class__') }}",
    "{% for c in ().__class__.__base__.__subclasses__() %}{{ c }}{% endfor %}",
    "{{ config.items() }}",
    "{{ self.__init__.__globals__ }}",
    "{{ x.format.__globals__ }}",
    "{{ 'a' * 100000000 }}",
    "{{ x * 100000000 }}",
    "{{ 2 ** 10000000 }}",
    "{% for i in range(100000000) %}{% endfor %}",
    "{{ x.__len__() }}",
]


@pytest.mark.parametrize("payload", INJECTIONS)
def test_template_injection_payloads_cannot_escape_the_sandbox(payload: str) -> None:
    raw = {"kind": "zero-shot", "template": payload, "variables": [{"name": "x"}]}
    try:
        prompt = version(raw)
    except InvalidRequestError:
        return  # refused at registration: uses names that are not declared variables
    with pytest.raises(RenderError):
        render(prompt, {"x": "value"})


def test_variable_values_are_data_not_templates() -> None:
    prompt = version({"kind": "zero-shot", "template": "Echo: {{ x }}", "variables": [{"name": "x"}]})
    assert render(prompt, {"x": "{{ 7 * 7 }}"}).text == "Echo: {{ 7 * 7 }}"


def test_unknown_output_is_refused() -> None:
    with pytest.raises(RenderError, match="output 'xml' is not one of text, chat"):
        render(version(COT), {"question": "?"}, output="xml")
