"""An MCP session with one server over whichever transport it is given: the ``Connection`` the supervisor
holds, never asking what carries it.

Servers speak one of two eras of MCP. Handshake-era servers (2024-11-05 to 2025-11-25: Notion's, most in the
wild) send change notifications and log messages whenever they like, take ``resources/subscribe`` and
``logging/setLevel``. 2026-era servers (2026-07-28, what the SDK's own servers speak) carry changes over
``subscriptions/listen`` and send log messages only for requests that ask for them at a level. The
``Connection`` hides which: the supervisor asks for a level, subscriptions and lists, and gets the same events.

The SDK is imported lazily by the supervisor, after the host's hello is on the wire.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import anyio
import httpx2
import mcp_types as types
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, LOG_LEVEL_META_KEY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from host import __version__
from host.protocol.events import ActiveTransport, Capability, ListKind, LogLevel
from host.transports.base import ConnectFailed, Transport
from host.transports.errors import describe_error, leaf_errors
from host.transports.http import MessageTooLarge

#: How the bridge names itself to every server (``clientInfo``).
CLIENT_INFO = types.Implementation(name="notion-mcp-bridge", title="Notion MCP Bridge", version=__version__)
#: The most pages of any list taken from one server: a cursor that never ends cannot hang the host.
MAX_PAGES = 100
#: Added to a call's own deadline for the SDK's backstop timeout: time a person may spend on a server's
#: question (elicitation, sampling) during the call without the SDK giving up on it first.
PERSON_ALLOWANCE_S = 600.0

ListChanged = Callable[[ListKind], Awaitable[None]]
Progress = Callable[[float, float | None, str | None], Awaitable[None]]


@dataclass
class SessionHooks:
    """What a session tells the rest of the host, and the questions it may put to the person."""

    on_list_changed: ListChanged | None = None
    """The server's tools, resources or prompts changed (handshake-era notifications; 2026-era sessions
    report them over ``subscriptions/listen``, which the supervisor holds open)."""
    on_resource_updated: Callable[[str], Awaitable[None]] | None = None
    on_log: Callable[[types.LoggingMessageNotificationParams], Awaitable[None]] | None = None
    elicitation: Any | None = None
    sampling: Any | None = None
    roots: list[str] = field(default_factory=list)
    """Folders offered as MCP roots; none means the roots capability is not advertised at all."""
    log_level: LogLevel = "info"


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
    log_level: LogLevel = "info"
    """The level asked of the server: by ``logging/setLevel`` on handshake-era sessions, and on each request
    on 2026-era ones."""

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
    def modern(self) -> bool:
        """A 2026-era session: change events over ``subscriptions/listen``, log levels per request."""
        assert self.client is not None
        return self.client.protocol_version in MODERN_PROTOCOL_VERSIONS

    @property
    def capabilities(self) -> list[Capability]:
        """What the server offers besides tools, by its capabilities."""
        assert self.client is not None
        caps = self.client.server_capabilities
        offered: list[Capability] = []
        if caps.resources is not None:
            offered.append("resources")
            if caps.resources.subscribe:
                offered.append("subscribe")
        if caps.prompts is not None:
            offered.append("prompts")
        if caps.completions is not None:
            offered.append("completions")
        if caps.logging is not None or self.modern:
            # 2026-era servers take a level on any request; whether they log at all is theirs to say.
            offered.append("logging")
        return offered

    def _meta(self) -> dict[str, Any] | None:
        return {LOG_LEVEL_META_KEY: self.log_level} if self.modern else None

    @property
    def server_info(self) -> types.Implementation | None:
        assert self.client is not None
        return self.client.server_info

    @property
    def protocol_version(self) -> str:
        assert self.client is not None
        return self.client.protocol_version

    async def _all_pages(self, list_page: Callable[..., Awaitable[Any]], field: str) -> list[Any]:
        """Every item of a paginated list (tools, resources, templates, prompts), following the server's cursor
        for at most MAX_PAGES pages: a server that keeps handing out cursors does not keep the host listing."""
        found: list[Any] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await list_page(cursor=cursor, cache_mode="refresh")
            found.extend(getattr(page, field))
            cursor = page.next_cursor
            if not cursor:
                break
        return found

    async def list_tools(self) -> list[types.Tool]:
        assert self.client is not None
        return await self._all_pages(self.client.list_tools, "tools")

    async def list_resources(self) -> list[types.Resource]:
        assert self.client is not None
        return await self._all_pages(self.client.list_resources, "resources")

    async def list_resource_templates(self) -> list[types.ResourceTemplate]:
        assert self.client is not None
        return await self._all_pages(self.client.list_resource_templates, "resource_templates")

    async def list_prompts(self) -> list[types.Prompt]:
        assert self.client is not None
        return await self._all_pages(self.client.list_prompts, "prompts")

    async def read_resource(self, uri: str) -> types.ReadResourceResult:
        assert self.client is not None
        return await self.client.read_resource(uri, meta=self._meta(), cache_mode="bypass")  # type: ignore[arg-type]

    async def get_prompt(self, name: str, arguments: dict[str, str]) -> types.GetPromptResult:
        assert self.client is not None
        return await self.client.get_prompt(name, arguments, meta=self._meta())  # type: ignore[arg-type]

    async def complete(
        self, ref: dict[str, Any], argument: dict[str, str], context: dict[str, str] | None
    ) -> types.CompleteResult:
        assert self.client is not None
        reference: types.PromptReference | types.ResourceTemplateReference
        if ref.get("type") == "ref/prompt":
            reference = types.PromptReference(name=str(ref["name"]))
        else:
            reference = types.ResourceTemplateReference(uri=str(ref["uri"]))
        return await self.client.complete(reference, argument, context)

    async def subscribe(self, uri: str) -> None:
        """``resources/subscribe`` (handshake-era sessions; 2026-era ones subscribe by listening)."""
        assert self.client is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await self.client.subscribe_resource(uri)

    async def unsubscribe(self, uri: str) -> None:
        assert self.client is not None
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            await self.client.unsubscribe_resource(uri)

    async def set_log_level(self, level: LogLevel) -> None:
        """Ask the server for log messages at ``level`` and above. Handshake-era: ``logging/setLevel``, sent
        only to servers that offer logging; 2026-era: the level goes with every request from now on."""
        assert self.client is not None
        self.log_level = level
        if not self.modern and self.client.server_capabilities.logging is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                await self.client.set_logging_level(level)

    async def call_tool(
        self,
        name: str,
        arguments: dict[str, Any],
        timeout_s: float,
        progress: Progress | None = None,
    ) -> types.CallToolResult:
        assert self.client is not None
        # The caller enforces the deadline (and cancels on the server); the SDK's own is only a backstop.
        return await self.client.call_tool(
            name,
            arguments,
            read_timeout_seconds=timeout_s + PERSON_ALLOWANCE_S + 5,
            progress_callback=progress,  # type: ignore[arg-type]
            meta=self._meta(),  # type: ignore[arg-type]
        )

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
                    # The SDK warns on every ping, though only 2026-era sessions lack it; this one is older.
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
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


def _roots_callback(folders: list[str]) -> Any:
    async def list_roots(_context: Any) -> types.ListRootsResult:
        return types.ListRootsResult(
            roots=[
                types.Root(uri=Path(folder).expanduser().as_uri(), name=Path(folder).name or folder)  # type: ignore[arg-type]
                for folder in folders
            ]
        )

    return list_roots


_LIST_NOTIFICATIONS: dict[type, ListKind] = {
    types.ToolListChangedNotification: "tools",
    types.ResourceListChangedNotification: "resources",
    types.PromptListChangedNotification: "prompts",
}


@asynccontextmanager
async def open_connection(
    server_id: str,
    transport: Transport,
    hooks: SessionHooks | None = None,
) -> AsyncIterator[Connection]:
    """Connect to the server over ``transport`` and complete the MCP handshake.

    Raises TransportUnsupported when a remote endpoint answers 404/405, so the caller can try another one,
    and ConnectFailed with the cause in words for any other failure before the session is up.
    """
    hooks = hooks or SessionHooks()
    connection = Connection(server_id=server_id, transport=transport.kind, log_level=hooks.log_level)

    async def message_handler(message: Any) -> None:
        # Runs inside the SDK's receive loop: the hooks only take note; requests happen elsewhere.
        if isinstance(message, Exception):
            connection.note_transport_error(message)
            return
        kind = _LIST_NOTIFICATIONS.get(type(message))
        if kind is not None and hooks.on_list_changed is not None:
            await hooks.on_list_changed(kind)
        elif isinstance(message, types.ResourceUpdatedNotification) and hooks.on_resource_updated is not None:
            await hooks.on_resource_updated(str(message.params.uri))

    client = Client(
        _WatchedTransport(transport.open(connection.note_refused), connection),
        message_handler=message_handler,
        logging_callback=hooks.on_log,  # type: ignore[arg-type]
        elicitation_callback=hooks.elicitation,
        sampling_callback=hooks.sampling,
        list_roots_callback=_roots_callback(hooks.roots) if hooks.roots else None,
        # 2026-era sessions: log messages at this level and above, on every request (set_log_level changes it).
        log_level=hooks.log_level,
        client_info=CLIENT_INFO,
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
