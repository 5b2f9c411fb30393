"""Requests from the extension, and the one table that says what the host does with each.

A verb is declared once, where it is handled (host/actions/): its request model (whose ``type`` literal *is*
the verb's name), the handler decorated with ``@handles(Model)``, and the handler's return annotation, which
names the result's shape. Everything else is derived from that table: the dispatch in host.app, the verb list
in the tests, docs/protocol.md's tables and the JSON Schema the extension's tests check against
(``python -m host.protocol.export``).

Requests come from outside, so they are validated (pydantic, extra fields refused); the host's own messages
are plain dataclasses (host.protocol.events).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

_SURROGATE = re.compile("[\ud800-\udfff]")


class Message(BaseModel):
    """Base of every validated message shape: unknown fields are refused, docstrings describe fields."""

    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class Request(Message):
    """``{"type": VERB, "id": STRING, ...fields}``; every request gets exactly one ``reply``."""

    id: str = Field(min_length=1, max_length=200)
    """The extension's id for this request, unique among its requests in flight; the reply carries it."""

    @classmethod
    def verb(cls) -> str:
        annotation = cls.model_fields["type"].annotation
        return str(annotation.__args__[0])  # type: ignore[union-attr]


Handler = Callable[[Any, Any], Awaitable[Any]]
R = TypeVar("R", bound=Request)
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Verb:
    name: str
    request: type[Request]
    handler: Handler
    group: str
    """The module it is declared in (host.actions.<group>): docs/protocol.md lists verbs by group."""

    def result_type(self) -> Any:
        """The handler's return annotation, resolved: the result's shape for the docs and the schema."""
        annotation = self.handler.__annotations__.get("return", "Any")
        if isinstance(annotation, str):
            # The module's own annotation text (``from __future__ import annotations``), in its own names.
            annotation = eval(annotation, vars(sys.modules[self.handler.__module__]))
        return annotation


#: verb name -> Verb, in declaration order.
VERBS: dict[str, Verb] = {}


def handles(request: type[R]) -> Callable[[H], H]:
    """Register the decorated coroutine as the handler of ``request``'s verb."""

    def register(handler: H) -> H:
        name = request.verb()
        if name in VERBS:
            raise RuntimeError(f"two handlers for {name!r}")
        group = handler.__module__.rsplit(".", 1)[-1]
        VERBS[name] = Verb(name, request, handler, group)
        return handler

    return register


def unpaired_surrogate(value: Any, path: str = "") -> str | None:
    """Where ``value`` holds a lone UTF-16 surrogate (JSON's ``"\\ud800"``), or None.

    JSON text may escape one and JavaScript strings may hold one, but it has no UTF-8 form: the configuration,
    the keychain, SQLite and every MCP server would fail to encode it, and a failure while a session encodes a
    request ends that session for everyone. Such text is refused where it enters, with the field named.
    """
    if isinstance(value, str):
        return (path or "text") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = unpaired_surrogate(key, path) or unpaired_surrogate(
                item, f"{path}.{key}" if path else key
            )
            if where is not None:
                return where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = unpaired_surrogate(item, f"{path}[{index}]")
            if where is not None:
                return where
    return None
