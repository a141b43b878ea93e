"""Prompt content validation: every mistake names its field."""

from __future__ import annotations

from typing import Any

import pytest

from prompt_catalog.errors import InvalidRequestError, TemplateTooLargeError
from prompt_catalog.model import MAX_TEMPLATE_CHARS, check_alias, check_name, content_from_dict, parse_content

BASE: dict[str, Any] = {
    "kind": "few-shot",
    "template": "Extract {{ field }} from: {{ text }}",
    "variables": [{"name": "field"}, {"name": "text", "type": "string", "description": "the document"}],
    "examples": [{"input": "Invoice 42 from ACME", "output": "ACME"}],
    "model_parameters": {"temperature": 0.2, "max_tokens": 256, "stop_sequences": ["\n\n"]},
    "tags": ["extraction", "finance", "extraction"],
}


def test_content_round_trips_and_hashes_stably() -> None:
    content = parse_content(BASE)
    assert content.tags == ("extraction", "finance")
    assert content.variable("field") is not None and content.variable("field").type == "string"  # type: ignore[union-attr]
    again = content_from_dict(content.to_dict())
    assert again == content
    assert again.content_hash == content.content_hash == parse_content(dict(BASE)).content_hash


def test_any_change_of_content_changes_the_hash() -> None:
    base = parse_content(BASE).content_hash
    assert parse_content({**BASE, "model_parameters": {"temperature": 0.3}}).content_hash != base
    assert parse_content({**BASE, "examples": [{"input": "x", "output": "y"}]}).content_hash != base


MISTAKES = [
    ({"kind": "one-shot"}, InvalidRequestError, "kind: 'one-shot' is not one of zero-shot, few-shot"),
    ({"colour": "red"}, InvalidRequestError, "colour: unknown field; allowed: kind, template"),
    ({"template": 42}, InvalidRequestError, "template: expected a string, got 42"),
    ({"template": "   "}, InvalidRequestError, "template: a few-shot prompt has a non-empty template"),
    ({"examples": []}, InvalidRequestError, "examples: a few-shot prompt needs at least one example"),
    ({"examples": [{"input": "x"}]}, InvalidRequestError, "examples.0.output: required field is missing"),
    ({"variables": [{"name": "field"}, {"name": "field"}]}, InvalidRequestError, "'field' is declared more than once"),
    (
        {"variables": [{"name": "9lives"}]},
        InvalidRequestError,
        "variables.0.name: '9lives' is not a valid variable name",
    ),
    ({"variables": [{"name": "x", "type": "date"}]}, InvalidRequestError, "variables.0.type: 'date' is not one of"),
    ({"variables": [{"name": "text"}]}, InvalidRequestError, "template: uses undeclared variable 'field'"),
    ({"template": "{{ field "}, InvalidRequestError, "template: template syntax error on line 1"),
    ({"template": "{% include 'x' %}"}, InvalidRequestError, "extends, include and import are not allowed"),
    (
        {"model_parameters": {"temperature": 3}},
        InvalidRequestError,
        "model_parameters.temperature: 3 is outside 0 to 2",
    ),
    (
        {"model_parameters": {"max_tokens": 1.5}},
        InvalidRequestError,
        "model_parameters.max_tokens: expected an integer",
    ),
    ({"model_parameters": {"top_p": True}}, InvalidRequestError, "model_parameters.top_p: expected a number, got True"),
    ({"tags": [""]}, InvalidRequestError, "tags: expected strings of 1 to 64 characters"),
    ({"template": "x" * (MAX_TEMPLATE_CHARS + 1)}, TemplateTooLargeError, "template: 32001 characters is over"),
    ({"messages": [{"role": "user", "content": "hi"}]}, InvalidRequestError, "a few-shot prompt has a non-empty"),
]


@pytest.mark.parametrize(("change", "error", "message"), MISTAKES)
def test_a_mistake_names_its_field(change: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error) as raised:
        parse_content({**BASE, **change})
    assert message in str(raised.value)


def test_chat_prompts_have_messages_with_known_roles() -> None:
    chat = {"kind": "chat", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]}
    assert parse_content(chat).messages[1].role == "user"
    with pytest.raises(InvalidRequestError, match=r"messages\.0\.role: 'robot' is not one of system, user, assistant"):
        parse_content({"kind": "chat", "messages": [{"role": "robot", "content": "x"}]})
    with pytest.raises(InvalidRequestError, match="a chat prompt has messages and no template"):
        parse_content({"kind": "chat", "template": "x", "messages": chat["messages"]})


@pytest.mark.parametrize("raw", [None, [], "text", 3])
def test_content_must_be_an_object(raw: Any) -> None:
    with pytest.raises(InvalidRequestError, match="content must be an object"):
        parse_content(raw)


@pytest.mark.parametrize("name", ["", "UPPER", "-lead", "has space", "x" * 65, 7, None])
def test_invalid_names(name: Any) -> None:
    with pytest.raises(InvalidRequestError, match="is invalid"):
        check_name(name)


@pytest.mark.parametrize("alias", ["", "Prod", "1st", "a" * 33, None])
def test_invalid_aliases(alias: Any) -> None:
    with pytest.raises(InvalidRequestError, match=r"alias .* is invalid"):
        check_alias(alias)
