"""Opening an MCP session with one configured server, whatever carries it.

Every transport — streamable HTTP, legacy SSE, a stdio child — ends up behind the same ``Connection``, so the
supervisor never asks which one it has. Remote servers are tried over streamable HTTP first and over SSE when
the endpoint answers 404 or 405, as the MCP spec's backwards-compatibility section describes.

The SDK is imported lazily by the supervisor, after the host's hello is on the wire.
"""

from __future__ import annotations

import logging
import math
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client, StdioServerParameters
from mcp.client.sse import sse_client
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from host import children
from host.config import ServerConfig
from host.protocol.events import ActiveTransport

log = logging.getLogger(__name__)

# Every stdio child is known to the host from its start, so shutdown can make sure none outlives it.
children.track_stdio_spawns()


def connect_timeout_s() -> float:
    """How long connecting (transport + handshake) may take before the attempt counts as failed.

    NOTION_BRIDGE_CONNECT_TIMEOUT_S shortens it where waiting is costly (tests of a server that never answers).
    """
    return float(os.environ.get("NOTION_BRIDGE_CONNECT_TIMEOUT_S", "30"))


#: The default bound on one SSE event (one MCP message) from a remote server; ``limits.max_event_mib`` in the
#: configuration changes it. Tool results of several MiB are legitimate (a long Notion page, a big query), so
#: the SDK's 1 MiB is too small; unbounded would let a broken or hostile server fill the host's memory.
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

ToolsChanged = Callable[[], Awaitable[None]]


class MessageTooLarge(httpx2.TransportError):
    """A remote server sent one message bigger than ``limits.max_event_mib``."""


class _CappedBody(httpx2.AsyncByteStream):
    """A response body that stops with MessageTooLarge once it passes ``limit`` bytes."""

    def __init__(self, inner: Any, limit: int, url: str, refused: Callable[[str], None]) -> None:
        self._inner = inner
        self._limit = limit
        self._url = url
        self._refused = refused

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for part in self._inner:
            seen += len(part)
            if seen > self._limit:
                words = _too_large(self._limit, self._url)
                self._refused(words)
                raise MessageTooLarge(words)
            yield part

    async def aclose(self) -> None:
        await self._inner.aclose()


def _too_large(limit: int, url: str) -> str:
    return f"{url} sent a message larger than the {limit / 2**20:g} MiB limit (limits.max_event_mib)"


def bound_bodies(limit: int, refused: Callable[[str], None]) -> Callable[[httpx2.Response], Awaitable[None]]:
    """A response hook that caps plain (non-SSE) bodies, which 2026-era servers use for every answer: the
    SDK reads them whole. SSE streams are capped per event by the SDK's EventSource instead, since one
    stream carries many messages. ``refused`` hears why first: the SDK reports only "connection closed" to
    the call whose answer was refused."""

    async def hook(response: httpx2.Response) -> None:
        if response.headers.get("content-type", "").lower().startswith("text/event-stream"):
            return
        where = str(response.request.url.copy_with(query=None, fragment=None))
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            await response.aclose()
            refused(_too_large(limit, where))
            raise MessageTooLarge(_too_large(limit, where))
        response.stream = _CappedBody(response.stream, limit, where, refused)

    return hook


class TransportUnsupported(Exception):
    """The endpoint does not speak the transport that was tried (HTTP 404/405)."""


@dataclass
class HttpObservations:
    """What the HTTP layer saw, for decisions the SDK's errors do not carry (status codes, Retry-After)."""

    first_status: int | None = None
    error_status: int | None = None
    retry_after_s: float | None = None

    async def on_response(self, response: httpx2.Response) -> None:
        if self.first_status is None:
            self.first_status = response.status_code
        if response.status_code >= 400:
            self.error_status = response.status_code
        if response.status_code in (429, 503) and (value := response.headers.get("retry-after")):
            with suppress(ValueError):
                self.retry_after_s = float(value)


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


def _stderr_pipe(server_id: str, tail: deque[str]) -> tuple[Any, Callable[[], None]]:
    """A file the child's stderr goes to, whose lines land in the host log under the server's name.

    The last lines are also kept in ``tail``: when a child dies at start-up they are the real error.
    """
    read_fd, write_fd = os.pipe()
    child_log = logging.getLogger(f"host.child.{server_id}")

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                text = line.rstrip()
                if text:
                    tail.append(text)
                    child_log.info("%s", text)

    threading.Thread(target=pump, name=f"stderr-{server_id}", daemon=True).start()
    errlog = os.fdopen(write_fd, "w")
    return errlog, errlog.close


@asynccontextmanager
async def open_connection(
    server: ServerConfig,
    *,
    transport: ActiveTransport,
    on_tools_changed: ToolsChanged,
    observations: HttpObservations | None = None,
    auth: httpx2.Auth | None = None,
    elicitation: Any | None = None,
    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
) -> AsyncIterator[Connection]:
    """Connect to ``server`` over ``transport`` and complete the MCP handshake.

    Raises TransportUnsupported when a remote endpoint answers 404/405, so the caller can try the other one.
    """
    connection = Connection(server_id=server.id, transport=transport)
    observations = observations or HttpObservations()

    async def message_handler(message: Any) -> None:
        if isinstance(message, types.ServerNotification) and isinstance(
            message, types.ToolListChangedNotification
        ):
            await on_tools_changed()
        elif isinstance(message, Exception):
            connection.note_transport_error(message)

    close_errlog: Callable[[], None] | None = None
    stderr_tail: deque[str] = deque(maxlen=5)
    inner: Any
    if transport == "stdio":
        argv = server.launch_command()
        errlog, close_errlog = _stderr_pipe(server.id, stderr_tail)
        env = {**os.environ, **server.env} if server.env else None
        params = StdioServerParameters(command=argv[0], args=argv[1:], env=env, cwd=server.cwd)
        inner = stdio_client(params, errlog=errlog)
    else:
        assert server.url
        if transport == "http":
            http_client = httpx2.AsyncClient(
                auth=auth,
                timeout=httpx2.Timeout(30.0, read=300.0),
                event_hooks={
                    "response": [
                        observations.on_response,
                        bound_bodies(max_event_bytes, connection.note_refused),
                    ]
                },
            )
            inner = streamable_http_client(
                server.url, http_client=http_client, max_sse_event_size=max_event_bytes
            )
        else:

            def factory(
                headers: dict[str, str] | None = None,
                timeout: httpx2.Timeout | None = None,
                auth: httpx2.Auth | None = None,
            ) -> httpx2.AsyncClient:
                return httpx2.AsyncClient(
                    headers=headers,
                    timeout=timeout or httpx2.Timeout(30.0, read=300.0),
                    auth=auth,
                    event_hooks={
                        "response": [
                            observations.on_response,
                            bound_bodies(max_event_bytes, connection.note_refused),
                        ]
                    },
                )

            inner = sse_client(_sse_url(server.url), auth=auth, httpx_client_factory=factory)

    client = Client(
        _WatchedTransport(inner, connection),
        message_handler=message_handler,
        elicitation_callback=elicitation,
        cache=None,
    )
    connected = False
    try:
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
                if transport != "stdio" and observations.first_status in (404, 405):
                    raise TransportUnsupported(
                        f"{server.url} answered HTTP {observations.first_status} to {transport.upper()}"
                    ) from None
                cause = describe_error(exc)
                if observations.error_status is not None and "HTTP" not in cause:
                    # The SDK turns an HTTP failure into a generic JSON-RPC error; the status says more.
                    cause = (
                        _HTTP_WORDS.get(observations.error_status, f"HTTP {observations.error_status}")
                        + f" ({cause})"
                    )
                if stderr_tail:
                    await anyio.sleep(0.05)  # let the pump thread catch the child's last words
                    cause = f"{cause}; the server said: {stderr_tail[-1]}"
                raise ConnectFailed(cause) from exc
        if handshake_scope.cancelled_caught and not connected:
            raise ConnectFailed(f"no answer to the MCP handshake within {limit:g} s")
    finally:
        if close_errlog is not None:
            close_errlog()


_HTTP_WORDS = {
    401: "the server requires sign-in (HTTP 401)",
    403: "the server refused access (HTTP 403)",
    404: "nothing serves MCP at this URL (HTTP 404)",
    429: "the server is rate-limiting (HTTP 429)",
    500: "the server failed (HTTP 500)",
    502: "bad gateway (HTTP 502)",
    503: "the server is unavailable (HTTP 503)",
}


class ConnectFailed(Exception):
    """Connecting or the handshake failed; the message names the cause."""


def _sse_url(url: str) -> str:
    """The legacy SSE endpoint that goes with a streamable HTTP URL: ``…/mcp`` becomes ``…/sse``."""
    trimmed = url.rstrip("/")
    if trimmed.endswith("/mcp"):
        return trimmed[: -len("/mcp")] + "/sse"
    return url


def leaf_errors(exc: BaseException) -> list[BaseException]:
    """The real causes inside (nested) exception groups, which is how anyio task groups report failures."""
    if isinstance(exc, BaseExceptionGroup):
        leaves: list[BaseException] = []
        for inner in exc.exceptions:
            leaves.extend(leaf_errors(inner))
        return leaves
    return [exc]


def is_connection_loss(exc: BaseException) -> bool:
    """Whether the error is the connection going away, not the server refusing the request."""
    for leaf in leaf_errors(exc):
        if isinstance(
            leaf, httpx2.ReadError | httpx2.WriteError | httpx2.RemoteProtocolError | httpx2.ConnectError
        ):
            return True
        if isinstance(leaf, MCPError) and leaf.message == "Connection closed":
            return True
    return False


def describe_error(exc: BaseException) -> str:
    """One line that names the cause, for a person: no exception-group wrappers, no tracebacks."""
    leaves = [leaf for leaf in leaf_errors(exc) if not isinstance(leaf, anyio.get_cancelled_exc_class())] or [
        exc
    ]
    first = leaves[0]
    if isinstance(first, ConnectFailed):
        return str(first)
    if isinstance(first, TimeoutError):
        return "timed out"
    if isinstance(first, httpx2.ConnectError):
        return f"cannot connect: {first}" if str(first) else "cannot connect"
    if isinstance(first, httpx2.ReadError | httpx2.WriteError | httpx2.RemoteProtocolError):
        detail = str(first).strip()
        return f"the connection to the server broke ({type(first).__name__}{': ' + detail if detail else ''})"
    if isinstance(first, MessageTooLarge):
        return f"{first}; raise the limit in the configuration if such messages are expected"
    if isinstance(first, httpx2.SSEError) and "byte limit" in str(first):
        return (
            f"the server sent a message larger than the limit ({first}); "
            "raise limits.max_event_mib in the configuration if it is expected"
        )
    if isinstance(first, httpx2.HTTPStatusError):
        return f"HTTP {first.response.status_code} from {first.request.url}"
    if isinstance(first, MCPError):
        if first.message == "Connection closed":
            # The SDK's words when the stream ends under a pending request: the server went away.
            return "the connection closed before the server answered"
        return (
            f"server error {first.code}: {first.message}" if first.message else f"server error {first.code}"
        )
    if isinstance(first, FileNotFoundError):
        return f"command not found: {first.filename or first}"
    text = str(first).strip()
    return f"{type(first).__name__}: {text}" if text else type(first).__name__
