"""Check a message against the protocol's JSON Schema (docs/protocol.schema.json, generated from the code)."""

from __future__ import annotations

import functools
from typing import Any

import jsonschema

from host.protocol.export import schema_document


@functools.cache
def _document() -> dict[str, Any]:
    return schema_document()


def conforms(message: dict[str, Any]) -> dict[str, Any]:
    """The message, after checking it is the host's message of its ``type`` as the protocol defines it."""
    jsonschema.validate(message, _document()["messages"][message["type"]])
    return message


def request_conforms(message: dict[str, Any]) -> dict[str, Any]:
    jsonschema.validate(message, _document()["requests"][message["type"]])
    return message


def verbs() -> list[str]:
    return list(_document()["requests"])
