"""The messages the host sends, their common shape, and the few it can send before anything is imported.

Each kind of message the host sends is one frozen dataclass; ``Host.send`` takes nothing else, so a message the
docs do not describe cannot be sent. They are dataclasses, not validated models, because the host builds them
itself (requests, which come from outside, are validated: host.protocol.verbs). This module stays on the
standard library: the host's first frame (``Hello``) is built from it within milliseconds of start-up, and the
frame writer cuts large messages into ``Chunk``s. The rest are in host.protocol.events.

``wire()`` gives the JSON object: ``type`` first, then every field that is set (optional fields left as None are
not sent). Nested values (status entries, MCP results) are passed through as the plain JSON they are.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any, ClassVar

#: Every message type the host sends, by its ``type``; filled as the classes below are defined.
OUTGOING: dict[str, type[Outgoing]] = {}


@dataclass(frozen=True, eq=False)
class Outgoing:
    """Base of every message the host sends."""

    TYPE: ClassVar[str] = ""
    #: Fields sent even when None (the extension reads them as null).
    KEEP_NONE: ClassVar[frozenset[str]] = frozenset()

    def __init_subclass__(cls, type: str = "", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if type:
            cls.TYPE = type
            OUTGOING[type] = cls

    def wire(self) -> dict[str, Any]:
        message: dict[str, Any] = {"type": self.TYPE}
        for field in fields(self):
            value = getattr(self, field.name)
            if value is not None or field.name in self.KEEP_NONE:
                message[field.name] = value
        return message


# --- replies ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ErrorInfo:
    code: str
    message: str


@dataclass(frozen=True, eq=False)
class Reply(Outgoing, type="reply"):
    """The one answer to a request: ``ok`` with its ``result``, or not ok with an ``error``."""

    id: str
    ok: bool
    result: Any = None
    error: ErrorInfo | None = None

    def wire(self) -> dict[str, Any]:
        # Results can be many MiB (a tool's answer): passed through as they are, never copied.
        if self.ok:
            return {"type": "reply", "id": self.id, "ok": True, "result": self.result}
        assert self.error is not None
        error = {"code": self.error.code, "message": self.error.message}
        return {"type": "reply", "id": self.id, "ok": False, "error": error}

    @classmethod
    def success(cls, request_id: str, result: Any) -> Reply:
        return cls(request_id, True, result)

    @classmethod
    def failure(cls, request_id: str, code: str, message: str) -> Reply:
        return cls(request_id, False, error=ErrorInfo(code, message))


# --- the connection ------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Hello(Outgoing, type="hello"):
    """The host's first frame, sent within 100 ms of its start, before anything heavy is imported."""

    protocol: int
    host_version: str


@dataclass(frozen=True, eq=False)
class ErrorEvent(Outgoing, type="error"):
    """A frame the host could not attribute to a request (no usable id), or an origin it does not serve."""

    error: ErrorInfo

    def wire(self) -> dict[str, Any]:
        return {"type": "error", "error": {"code": self.error.code, "message": self.error.message}}

    @classmethod
    def of(cls, code: str, message: str) -> ErrorEvent:
        return cls(ErrorInfo(code, message))


@dataclass(frozen=True, eq=False)
class Chunk(Outgoing, type="chunk"):
    """A slice of a message whose encoding is over Chrome's 1 MiB limit (host.framing.split_message)."""

    stream: str
    seq: int
    last: bool
    data: str


#: How a part of the host sends: one of these messages, nothing else.
Send = Callable[[Outgoing], None]


def mcp_wire(model: Any) -> dict[str, Any]:
    """An MCP SDK model as the MCP wire spells it (camelCase names, JSON values, absent fields left out): how the
    host hands a server's tools, resources, prompts and results on to the extension unchanged."""
    result: dict[str, Any] = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result
