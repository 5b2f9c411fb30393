"""What a transport is to the rest of the host: something that opens the SDK's streams to one server and, when
the handshake over them fails, can say why in words only it knows.

Each transport lives in its own module (http, sse, stdio), as in the MCP python-sdk; ``connection`` runs the
MCP session over whichever one it is given and never asks which.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

from host.errors import BridgeError, ErrorCode
from host.protocol.events import ActiveTransport

Streams = tuple[Any, Any]
"""The SDK's (read stream, write stream) pair for one session."""

Refused = Callable[[str], None]
"""Told, in words, when the host refuses something the server sent (a message over the size limit). The
SDK reports only "connection closed" to the call that refusal ends, so this is how the cause gets there."""


class Transport(Protocol):
    """One way of carrying MCP to a server."""

    @property
    def kind(self) -> ActiveTransport:
        """What the status card shows: ``http``, ``sse`` or ``stdio``."""
        ...

    def open(self, on_refused: Refused) -> AbstractAsyncContextManager[Streams]:
        """The SDK's transport for one session: entering it connects (or starts the child)."""
        ...

    async def why_failed(self, cause: str) -> str:
        """``cause`` (the SDK's error in words) with what this transport alone saw: an HTTP status, a child's
        last words. Raises TransportUnsupported when the endpoint does not speak this transport at all."""
        ...


class TransportUnsupported(Exception):
    """The endpoint does not speak the transport that was tried (HTTP 404/405): a signal to try the next one."""


class ConnectFailed(BridgeError):
    """Connecting or the handshake failed; the message names the cause."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.NOT_CONNECTED, message)
