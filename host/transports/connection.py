"""An MCP session with one server over whichever transport it is given: the ``Connection`` the supervisor
holds, never asking what carries it.

The SDK is imported lazily by the supervisor, after the host's hello is on the wire.
"""

from __future__ import annotations

import math
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from host.protocol.events import ActiveTransport
from host.transports.base import ConnectFailed, Transport
from host.transports.errors import describe_error, leaf_errors
from host.transports.http import MessageTooLarge

ToolsChanged = Callable[[], Awaitable[None]]


def connect_timeout_s() -> float:
    """How long connecting (transport + handshake) may take before the attempt counts as failed.

    NOTION_BRIDGE_CONNECT_TIMEOUT_S shortens it where waiting is costly (tests of a server that never answers).
    """
    return float(os.environ.get("NOTION_BRIDGE_CONNECT_TIMEOUT_S", "30"))


@dataclass
class Connection:
    """A live MCP session. ``lost`` is set once it is known to be gone; it never comes back."""

    server_id: str
    transport: ActiveTransport
    client: Client | None = None
    lost: anyio.Event = field(default_factory=anyio.Event)
    lost_reason: str | None = None
    transport_error: anyio.Event = field(default_factory=anyio.Event)
    last_transport_error: str | None = None
    refused_message: str | None = None
    """Why the host refused a message the server sent (over the size limit): the cause of any call it ends."""

    def mark_lost(self, reason: str) -> None:
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    def note_transport_error(self, error: Exception) -> None:
        self.last_transport_error = describe_error(error)
        if any(isinstance(leaf, MessageTooLarge | httpx2.SSEError) for leaf in leaf_errors(error)):
            self.refused_message = self.last_transport_error

    def note_refused(self, words: str) -> None:
        self.refused_message = words
        # Wakes the supervisor's health check: a failed POST may mean the server is gone.
        self.transport_error.set()

    @property
    def server_info(self) -> types.Implementation | None:
        assert self.client is not None
        return self.client.server_info

    @property
    def protocol_version(self) -> str:
        assert self.client is not None
        return self.client.protocol_version

    async def list_tools(self) -> list[types.Tool]:
        assert self.client is not None
        tools: list[types.Tool] = []
        cursor: str | None = None
        for _ in range(100):  # a server whose cursor never ends cannot hang the host
            page = await self.client.list_tools(cursor=cursor, cache_mode="refresh")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if not cursor:
                break
        return tools

    async def call_tool(self, name: str, arguments: dict[str, Any], timeout_s: float) -> types.CallToolResult:
        assert self.client is not None
        # The caller enforces the deadline (and cancels on the server); the SDK's own is only a backstop.
        return await self.client.call_tool(name, arguments, read_timeout_seconds=timeout_s + 5)

    async def ping(self, timeout_s: float) -> None:
        """Prove the server still answers. Any protocol answer counts, even an error: only silence or a
        closed connection means the session is gone."""
        assert self.client is not None
        with anyio.fail_after(timeout_s):
            try:
                if self.client.protocol_version in MODERN_PROTOCOL_VERSIONS:
                    # 2026-era sessions have no ping; discovery is the cheapest request they all answer.
                    await self.client.session.send_discover(self.client.protocol_version)
                else:
                    await self.client.send_ping()
            except MCPError as exc:
                if exc.code == CONNECTION_CLOSED:
                    raise


class _WatchedReadStream:
    """The transport's read stream, reporting when it ends or carries a transport error.

    The SDK's dispatcher treats the end of this stream as the end of the session; the supervisor needs to
    learn it at the same moment instead of on the next call.
    """

    def __init__(self, inner: Any, connection: Connection) -> None:
        self._inner = inner
        self._connection = connection

    @property
    def last_context(self) -> Any:
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> Any:
        try:
            item = await self._inner.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            self._connection.mark_lost("the server closed the connection")
            raise
        if isinstance(item, Exception):
            self._connection.note_transport_error(item)
        return item

    async def aclose(self) -> None:
        await self._inner.aclose()

    def __aiter__(self) -> _WatchedReadStream:
        return self

    async def __anext__(self) -> Any:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> _WatchedReadStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        await self._inner.aclose()
        return None


class _WatchedTransport:
    def __init__(self, inner: Any, connection: Connection) -> None:
        self._inner = inner
        self._connection = connection

    async def __aenter__(self) -> tuple[Any, Any]:
        read_stream, write_stream = await self._inner.__aenter__()
        return _WatchedReadStream(read_stream, self._connection), write_stream

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        return await self._inner.__aexit__(exc_type, exc, tb)


@asynccontextmanager
async def open_connection(
    server_id: str,
    transport: Transport,
    *,
    on_tools_changed: ToolsChanged,
    elicitation: Any | None = None,
) -> AsyncIterator[Connection]:
    """Connect to the server over ``transport`` and complete the MCP handshake.

    Raises TransportUnsupported when a remote endpoint answers 404/405, so the caller can try another one,
    and ConnectFailed with the cause in words for any other failure before the session is up.
    """
    connection = Connection(server_id=server_id, transport=transport.kind)

    async def message_handler(message: Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message, types.ToolListChangedNotification
        ):
            await on_tools_changed()
        elif isinstance(message, Exception):
            connection.note_transport_error(message)

    client = Client(
        _WatchedTransport(transport.open(connection.note_refused), connection),
        message_handler=message_handler,
        elicitation_callback=elicitation,
        cache=None,
    )
    connected = False
    # The deadline covers the handshake only; it is lifted once connected. A plain fail_after around
    # __aenter__ would break anyio's rule that cancel scopes nest, as the client opens task groups.
    limit = connect_timeout_s()
    with anyio.CancelScope(deadline=anyio.current_time() + limit) as handshake_scope:
        try:
            async with client:
                connected = True
                handshake_scope.deadline = math.inf
                connection.client = client
                try:
                    yield connection
                finally:
                    connection.mark_lost("closed by the host")
        except Exception as exc:
            if connected:
                raise
            raise ConnectFailed(await transport.why_failed(describe_error(exc))) from exc
    if handshake_scope.cancelled_caught and not connected:
        raise ConnectFailed(f"no answer to the MCP handshake within {limit:g} s")
