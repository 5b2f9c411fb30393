"""One supervisor per configured server: keeps its MCP session up and says, at every change, how it is.

States: ``disabled`` → ``connecting`` → ``connected``; on failure ``error`` with the cause and the time of the
next attempt (capped exponential backoff with jitter, 0.5 s → 30 s, longer when the server asks for it);
``needs_auth`` when the server wants credentials the host does not have.

A dropped session is noticed three ways: the transport's stream ends (a stdio child exits, an SSE stream
closes), a transport error makes the supervisor ping at once, and an idle heartbeat ping (of a stdio child
only every ``STDIO_HEARTBEAT_FACTOR`` heartbeats: its pipe already tells of its death). Every tool call in
flight on a lost session is answered with ``session_lost``; calls are never retried behind the user's back,
because the server may already have carried them out.

Besides tools, the supervisor is where everything else a server offers is asked for (resources, prompts,
completion) and where what it reports unasked lands: progress of a call (``tool.progress``), log messages (a
ring of the latest, and ``server.log``), changes to its lists (``server.list_changed``) and to subscribed
resources (``resource.updated``). Subscriptions and the log level outlive a session: a new session gets them.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.abc
import mcp_types as types

from host import workspace as workspaces
from host.backoff import Backoff
from host.config import RemoteTransport, ServerConfig
from host.elicitation import ElicitationBroker
from host.errors import BridgeError, ErrorCode
from host.oauth.errors import sign_in_needed
from host.oauth.manager import AuthManager
from host.oauth.refresher import ClientRejected, NeedsAuthorization, RefreshDeferred
from host.protocol.events import (
    ActiveTransport,
    Capability,
    ListChanged,
    ListKind,
    LogLevel,
    ResourceUpdated,
    Send,
    ServerInfo,
    ServerLog,
    ServerState,
    ServerStatus,
    ToolProgress,
    WorkspaceInfo,
)
from host.protocol.wire import mcp_wire
from host.server_secrets import Secrets
from host.token_store import Credentials
from host.transports import (
    DEFAULT_MAX_EVENT_BYTES,
    REMOTE,
    Connection,
    HttpObservations,
    SessionHooks,
    StdioTransport,
    Transport,
    describe_error,
    first_that_works,
    is_connection_loss,
    open_connection,
)

log = logging.getLogger(__name__)

DEFAULT_CALL_TIMEOUT_S = 120.0
#: The longest a server's retry_after_seconds may hold calls back; a bigger value is taken as this.
RATE_LIMIT_CAP_S = 300.0
#: Configuration fields whose change needs no new session.
_NOT_ABOUT_REACHING = {
    "name", "enabled", "detected_transport", "always_allow", "trusted", "disabled_tools", "log_level",
}  # fmt: skip
LISTEN_ACK_TIMEOUT_S = 10.0
#: How many of a server's latest log messages are kept for ``server.logs``.
LOG_RING = 500
#: A log message's data longer than this (as JSON text) is cut, so one message cannot fill the ring's memory.
LOG_DATA_CHARS = 16 * 1024
#: At most one ``tool.progress`` per call this often; the last report (progress == total) always goes out.
PROGRESS_MIN_INTERVAL_S = 0.05
#: The most resources one server may have subscribed at once: each is held by the host (and by the server).
MAX_SUBSCRIPTIONS = 256
#: How long a request other than a tool call (a list, a read, a prompt) may take.
REQUEST_TIMEOUT_S = 60.0
DEFAULT_LOG_LEVEL: LogLevel = "info"

#: The capability each kind of request needs, and how to say it is missing.
_NEEDS: dict[Capability, str] = {
    "resources": "resources",
    "subscribe": "resource subscriptions",
    "prompts": "prompts",
    "completions": "argument completion",
    "logging": "logging",
}


#: A stdio child is pinged this many heartbeats apart. Its death closes its pipe, which the session sees at
#: once; the ping is only for a child that hangs with its pipe open, and every ping wakes a process that
#: would otherwise sleep all day (15 s → every 5 minutes).
STDIO_HEARTBEAT_FACTOR = 20


def _heartbeat_interval(kind: str = "remote") -> float:
    # Tests shorten it to see a dead server quickly; people keep the default.
    heartbeat = float(os.environ.get("NOTION_BRIDGE_HEARTBEAT_S", "15"))
    return heartbeat * STDIO_HEARTBEAT_FACTOR if kind == "stdio" else heartbeat


@dataclass
class _InFlight:
    scope: anyio.CancelScope
    failure: BridgeError | None = None


class Supervisor:
    def __init__(
        self,
        server: ServerConfig,
        on_change: Callable[[], None],
        auth: AuthManager | None = None,
        elicitations: ElicitationBroker | None = None,
        *,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        on_transport_found: Callable[[str, RemoteTransport], None] | None = None,
        send: Send | None = None,
        sampling: Callable[[str, Callable[[], str]], Any] | None = None,
        secrets: Callable[[ServerConfig], Secrets] | None = None,
    ) -> None:
        self.config = server
        self._on_transport_found = on_transport_found
        self._send: Send = send or (lambda _message: None)
        self._sampling = sampling(server.id, self.display_name) if sampling else None
        self._secrets = secrets
        self._max_event_bytes = max_event_bytes
        self._on_change = on_change
        self._auth = auth
        self._elicitation = elicitations.callback_for(server.id) if elicitations else None
        self._interactive = False
        self._attempt_done = asyncio.Event()
        self.state: ServerState = "connecting" if server.enabled else "disabled"
        self.error: str | None = None
        self.retry_at: float | None = None
        self.transport: ActiveTransport | None = (
            "stdio" if server.kind == "stdio" else server.detected_transport
        )
        self.tools: list[types.Tool] = []
        self.server_info: types.Implementation | None = None
        self.workspace: WorkspaceInfo | None = None
        """The Notion workspace this session serves, as the server said (host.workspace)."""
        self.capabilities: list[Capability] = []
        self.subscriptions: set[str] = set()
        """Resources subscribed to (``resources.subscribe``); a new session subscribes to them again."""
        self.logs: deque[dict[str, Any]] = deque(maxlen=LOG_RING)
        self._relisten = asyncio.Event()
        self._listening = asyncio.Event()
        """Set while a listen stream with the current subscriptions is acknowledged (2026-era sessions)."""
        self._connection: Connection | None = None
        self._session_auth: Any = None
        """The sign-in of the current session (host.oauth.auth.BridgeAuth), for its words on a refusal."""
        self._task: asyncio.Task[None] | None = None
        self._calls: dict[str, _InFlight] = {}
        self._quiet_until = 0.0
        """Monotonic time before which no call goes to the server: it said it was rate limited."""
        self._retry_now = asyncio.Event()
        self._tools_stale = asyncio.Event()
        self._lost_to_auth: BaseException | None = None

    # --- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        if self.config.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"supervisor-{self.config.id}")

    async def stop(self, state: ServerState = "disabled", reason: str | None = None) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._fail_calls(ErrorCode.SESSION_LOST, reason or f"{self.config.name} was disconnected")
        self._connection = None
        self.tools = []
        if state == "disabled":
            self.workspace = None  # switched off or signed out: the card no longer speaks for a workspace
        self.capabilities = []
        self._set(state, error=reason, retry_at=None)

    async def reconfigure(self, server: ServerConfig) -> None:
        """Apply a changed configuration: a new session when anything about reaching the server changed."""
        reach_changed = server.model_dump(exclude=_NOT_ABOUT_REACHING) != self.config.model_dump(
            exclude=_NOT_ABOUT_REACHING
        )
        if server.uid != self.config.uid:
            self.workspace = None
        tools_switched = server.disabled_tools != self.config.disabled_tools
        level_changed = server.log_level != self.config.log_level
        self.config = server
        if not server.enabled:
            await self.stop("disabled")
        elif reach_changed or self._task is None:
            await self.stop("connecting")
            self.start()
        else:
            if tools_switched:
                self._send(ListChanged(server=server.id, list="tools"))
            if level_changed and self._connection is not None:
                await self._apply_log_level(self._connection)
            self._on_change()

    def retry_now(self) -> None:
        """Skip the rest of the backoff wait (the person pressed Connect)."""
        self._retry_now.set()

    async def connect_interactive(self, timeout_s: float) -> ServerStatus:
        """Connect now, letting this attempt open the sign-in window if the server asks for one.

        Returns once an attempt that was allowed to open the window has ended, connected or not, with the
        server's status entry. Pressed while a background attempt (which may not open windows) is under way,
        it lets that attempt finish: connected is connected, and if it ends in needs_auth the next attempt,
        made at once, is the interactive one — the person is never told "press Connect" for pressing it.
        """
        if self.state == "connected" and self._connection is not None:
            return self.snapshot()
        self._interactive = True
        self._attempt_done.clear()
        if self._task is None:
            self.start()
        else:
            self.retry_now()
        with anyio.move_on_after(timeout_s):
            await self._attempt_done.wait()
        return self.snapshot()

    def workspace_info(self) -> WorkspaceInfo | None:
        """The workspace this entry serves: as the live session said, else as the stored sign-in remembers."""
        if self.workspace is not None:
            return self.workspace
        if self._auth is not None and self.config.kind == "remote":
            credentials = self._auth.refresher(self.config).cached()
            if credentials is not None and credentials.workspace_name:
                return WorkspaceInfo(
                    id=credentials.workspace_id,
                    name=credentials.workspace_name,
                    icon=credentials.workspace_icon,
                )
        return None

    def display_name(self) -> str:
        """The card's name: the workspace's own name when the server said which workspace it is."""
        workspace = self.workspace_info()
        if workspace is not None and workspace["name"] != self.config.name:
            return f"{self.config.name} · {workspace['name']}"
        return self.config.name

    # --- what the extension asks -------------------------------------------------------------------

    def snapshot(self) -> ServerStatus:
        """This server's status entry: its card in the popup, and what server.* verbs answer with."""
        info = self.server_info
        return ServerStatus(
            id=self.config.id,
            name=self.display_name(),
            kind=self.config.kind,
            enabled=self.config.enabled,
            transport=self.transport,
            state=self.state,
            error=self.error,
            retry_at=self.retry_at,
            tools=len(self.enabled_tools()),
            server_info=ServerInfo(name=info.name, version=info.version or None) if info else None,
            workspace=self.workspace_info(),
            capabilities=list(self.capabilities),
        )

    def enabled_tools(self) -> list[types.Tool]:
        """The tools the model and the tool runner see: all but those the person switched off."""
        off = set(self.config.disabled_tools)
        return [tool for tool in self.tools if tool.name not in off]

    def tools_wire(self, *, include_disabled: bool = False) -> list[dict[str, Any]]:
        tools = self.tools if include_disabled else self.enabled_tools()
        return [mcp_wire(tool) for tool in tools]

    def require_connection(self) -> Connection:
        connection = self._connection
        if connection is not None and not connection.lost.is_set():
            return connection
        if not self.config.enabled:
            raise BridgeError(ErrorCode.SERVER_DISABLED, f"{self.config.name} is disabled; enable it first")
        if connection is not None:
            # Lost a moment ago: the state still says connected until the connection loop notices.
            raise BridgeError(
                ErrorCode.NOT_CONNECTED,
                f"{self.config.name} is not connected: the session just ended ({connection.lost_reason}); "
                "reconnecting",
            )
        detail = f": {self.error}" if self.error else ""
        raise BridgeError(
            ErrorCode.NOT_CONNECTED, f"{self.config.name} is not connected ({self.state}){detail}"
        )

    async def call_tool(
        self,
        call_id: str,
        name: str,
        arguments: dict[str, Any],
        timeout_s: float | None,
        *,
        progress_id: str | None = None,
        conversation_id: str | None = None,
    ) -> dict[str, Any]:
        """Call a tool. Its progress reports go out as ``tool.progress`` under ``progress_id`` (the call's
        own id unless given: the chat names its cards by the model's call ids, with their conversation)."""
        connection = self.require_connection()
        if name in self.config.disabled_tools:
            raise BridgeError(
                ErrorCode.TOOL_DISABLED, f"{name} is switched off for {self.config.name} (options page)"
            )
        if self.tools and not any(tool.name == name for tool in self.tools):
            raise BridgeError(ErrorCode.UNKNOWN_TOOL, f"{self.config.name} has no tool named {name!r}")
        timeout = timeout_s or DEFAULT_CALL_TIMEOUT_S
        entry = _InFlight(anyio.CancelScope(deadline=anyio.current_time() + timeout))
        self._calls[call_id] = entry
        progress = self._progress_reporter(progress_id or call_id, conversation_id)
        try:
            with entry.scope:
                await self._wait_out_rate_limit(name, timeout)
                result = await connection.call_tool(name, arguments, timeout, progress)
                self._note_rate_limit(result)
                return mcp_wire(result)
            if entry.failure is not None:
                raise entry.failure
            raise BridgeError(
                ErrorCode.TIMEOUT, f"{name} on {self.config.name} gave no result within {timeout:g} s"
            )
        except BridgeError:
            raise
        except Exception as exc:
            if connection.lost.is_set() or is_connection_loss(exc):
                # The call's own error names the cause; the connection's reason may only say it was torn down.
                reason = connection.refused_message or (
                    describe_error(exc) if is_connection_loss(exc) else connection.lost_reason
                )
                raise BridgeError(
                    ErrorCode.SESSION_LOST,
                    f"the session with {self.config.name} was lost during the call ({reason}); "
                    "it was not retried",
                ) from None
            raise BridgeError(ErrorCode.SERVER_ERROR, f"{self.config.name}: {self._words_for(exc)}") from None
        finally:
            self._calls.pop(call_id, None)

    def _words_for(self, exc: BaseException) -> str:
        """A failed request in words: the sign-in's when the server refused for want of a permission."""
        refusal = getattr(self._session_auth, "refusal", None)
        return refusal or describe_error(exc)

    def _progress_reporter(
        self, call_id: str, conversation_id: str | None
    ) -> Callable[[float, float | None, str | None], Awaitable[None]]:
        last = 0.0

        async def report(progress: float, total: float | None, message: str | None) -> None:
            nonlocal last
            now = time.monotonic()
            finished = total is not None and progress >= total
            if now - last < PROGRESS_MIN_INTERVAL_S and not finished:
                return  # a server reporting faster than a person can read is thinned out
            last = now
            self._send(
                ToolProgress(
                    call_id=call_id,
                    progress=progress,
                    total=total,
                    message=message,
                    conversation_id=conversation_id,
                )
            )

        return report

    # --- resources, prompts, completion, logs ------------------------------------------------------------

    def require(self, capability: Capability) -> Connection:
        """The live session, if the server offers ``capability``; ``not_offered`` otherwise."""
        connection = self.require_connection()
        if capability not in self.capabilities:
            raise BridgeError(
                ErrorCode.NOT_OFFERED, f"{self.config.name} does not offer {_NEEDS[capability]}"
            )
        return connection

    async def ask(
        self, what: str, capability: Capability, request: Callable[[Connection], Awaitable[Any]]
    ) -> Any:
        """One request to the server with the same failures in words as a tool call: ``session_lost`` when
        the session went, ``server_error`` when the server refused, ``timeout`` after REQUEST_TIMEOUT_S."""
        connection = self.require(capability)
        try:
            with anyio.fail_after(REQUEST_TIMEOUT_S):
                return await request(connection)
        except TimeoutError:
            raise BridgeError(
                ErrorCode.TIMEOUT, f"{self.config.name} did not answer {what} within {REQUEST_TIMEOUT_S:g} s"
            ) from None
        except BridgeError:
            raise
        except Exception as exc:
            if connection.lost.is_set() or is_connection_loss(exc):
                raise BridgeError(
                    ErrorCode.SESSION_LOST,
                    f"the session with {self.config.name} was lost during {what} ({describe_error(exc)})",
                ) from None
            raise BridgeError(
                ErrorCode.SERVER_ERROR, f"{self.config.name} refused {what}: {self._words_for(exc)}"
            ) from None

    async def subscribe(self, uri: str) -> bool:
        """Subscribe to ``uri``; False when it already was."""
        connection = self.require("subscribe")
        if uri in self.subscriptions:
            return False
        if len(self.subscriptions) >= MAX_SUBSCRIPTIONS:
            raise BridgeError(
                ErrorCode.INVALID_ARGUMENTS,
                f"{self.config.name} already has {MAX_SUBSCRIPTIONS} resources followed; unsubscribe from one first",
            )
        self.subscriptions.add(uri)
        if connection.modern:
            await self._listen_again()
            return True
        try:
            await self.ask(f"the subscription to {uri}", "subscribe", lambda c: c.subscribe(uri))
        except BridgeError:
            self.subscriptions.discard(uri)
            raise
        return True

    async def unsubscribe(self, uri: str) -> bool:
        """Unsubscribe from ``uri``; False when it was not subscribed."""
        if uri not in self.subscriptions:
            return False
        self.subscriptions.discard(uri)
        connection = self._connection
        if connection is None or connection.lost.is_set():
            return True
        if connection.modern:
            await self._listen_again()
        else:
            await self.ask(f"the end of the subscription to {uri}", "subscribe", lambda c: c.unsubscribe(uri))
        return True

    async def _listen_again(self) -> None:
        """Open the listen stream again with the subscriptions as they are now, and wait for the server to
        acknowledge it: a change made right after subscribing must not be missed."""
        self._listening.clear()
        self._relisten.set()
        with anyio.move_on_after(LISTEN_ACK_TIMEOUT_S):
            await self._listening.wait()

    def log_level(self) -> LogLevel:
        return self.config.log_level or DEFAULT_LOG_LEVEL

    async def _apply_log_level(self, connection: Connection) -> None:
        if "logging" not in connection.capabilities:
            return
        try:
            with anyio.fail_after(REQUEST_TIMEOUT_S):
                await connection.set_log_level(self.log_level())
        except Exception as exc:
            log.info("%s: setting the log level failed: %s", self.config.id, describe_error(exc))

    async def _on_log(self, params: types.LoggingMessageNotificationParams) -> None:
        data = params.data
        try:
            text = json.dumps(data, ensure_ascii=False)
        except (TypeError, ValueError):
            data, text = str(data), str(data)
        if len(text) > LOG_DATA_CHARS:
            data = text[:LOG_DATA_CHARS] + f" … [{len(text) - LOG_DATA_CHARS} more characters not kept]"
        entry = {"time": time.time(), "level": params.level, "logger": params.logger, "data": data}
        self.logs.append(entry)
        self._send(ServerLog(server=self.config.id, **entry))

    async def _on_list_changed(self, kind: ListKind) -> None:
        # Runs inside the SDK's receive loop: tools are listed again by the watcher; the rest are the pages'
        # to ask for again.
        if kind == "tools":
            self._tools_stale.set()
        else:
            self._send(ListChanged(server=self.config.id, list=kind))

    async def _on_resource_updated(self, uri: str) -> None:
        # Only what is subscribed (or a part of it, which the spec allows): a server may still send for a
        # subscription just ended, and a 2026-era stream closed a moment ago hands its late events to the
        # session's message handler.
        if any(uri == s or uri.startswith(s.rstrip("/") + "/") for s in self.subscriptions):
            self._send(ResourceUpdated(server=self.config.id, uri=uri))

    async def _wait_out_rate_limit(self, name: str, timeout: float) -> None:
        wait = self._quiet_until - time.monotonic()
        if wait <= 0:
            return
        if wait > timeout:
            raise BridgeError(
                ErrorCode.RATE_LIMITED,
                f"{self.config.name} is rate limiting; {name} was not sent (try again in {wait:.0f} s)",
            )
        # Sending sooner would only earn another refusal and may lengthen the server's penalty.
        await anyio.sleep(wait)

    def _note_rate_limit(self, result: types.CallToolResult) -> None:
        """Notion answers a rate-limited call with a tool error carrying ``retry_after_seconds``."""
        error = (result.structured_content or {}).get("error") if result.is_error else None
        if not isinstance(error, dict) or error.get("code") != "rate_limited":
            return
        try:
            retry_after = min(max(float(error.get("retry_after_seconds", 1)), 0.0), RATE_LIMIT_CAP_S)
        except (TypeError, ValueError):
            retry_after = 1.0
        self._quiet_until = max(self._quiet_until, time.monotonic() + retry_after)
        log.info("%s: rate limited for %.1f s", self.config.id, retry_after)

    def cancel_call(self, call_id: str) -> bool:
        entry = self._calls.get(call_id)
        if entry is None:
            return False
        entry.failure = BridgeError(ErrorCode.CANCELLED, "the call was cancelled")
        entry.scope.cancel()
        return True

    # --- the connection loop -----------------------------------------------------------------------

    def _set(self, state: ServerState, *, error: str | None = None, retry_at: float | None = None) -> None:
        self.state, self.error, self.retry_at = state, error, retry_at
        self._on_change()

    def _fail_calls(self, code: str, message: str) -> None:
        for entry in list(self._calls.values()):
            if entry.failure is None:
                entry.failure = BridgeError(code, message)
            entry.scope.cancel()

    async def _run(self) -> None:
        backoff = Backoff()
        while True:
            self._set("connecting")
            observations = HttpObservations()
            needs_auth: BaseException | None = None
            # Read here, once: the attempt's auth is made with it, and Connect may be pressed meanwhile.
            interactive = self._interactive
            try:
                async with self._connect(observations, interactive=interactive) as connection:
                    await self._serve(connection, backoff)
                reason = connection.lost_reason or "the session ended"
                needs_auth = self._lost_to_auth
            except Exception as exc:
                needs_auth = sign_in_needed(exc)
                reason = str(needs_auth) if needs_auth else describe_error(exc)
                log.info("%s: connection failed: %s", self.config.id, reason)
            finally:
                self._connection = None
                self._lost_to_auth = None
                if interactive:
                    self._interactive = False
            self._fail_calls(
                ErrorCode.SESSION_LOST,
                f"the session with {self.config.name} was lost ({reason}); the call was not retried",
            )
            self._retry_now.clear()
            if needs_auth is not None and self._interactive and not interactive:
                # Connect was pressed while a background attempt ran: sign in now, with the window.
                continue
            # Whatever Connect was waiting for has its answer; a later attempt opens no window unasked.
            self._interactive = False
            if needs_auth is not None:
                # Only the person can fix this: wait for Connect rather than retrying on a timer.
                self._set("needs_auth", error=str(needs_auth))
                self._attempt_done.set()
                await self._retry_now.wait()
                continue
            delay = backoff.next_delay(hint=observations.retry_after_s)
            self._set("error", error=reason, retry_at=time.time() + delay)
            self._attempt_done.set()
            with anyio.move_on_after(delay):
                await self._retry_now.wait()

    async def _serve(self, connection: Connection, backoff: Backoff) -> None:
        async with anyio.create_task_group() as tg:
            # Listen before listing, so that no change between the two goes unnoticed.
            # A server that never acknowledges must not keep the session from coming up.
            with anyio.move_on_after(LISTEN_ACK_TIMEOUT_S):
                await tg.start(self._listen_for_changes, connection)
            self.tools = await connection.list_tools()
            self.server_info = connection.server_info
            # Before "connected", so the card never shows a Notion connection without its workspace's name.
            learned = await workspaces.ask(connection, [tool.name for tool in self.tools])
            if learned is not None:
                self.workspace = learned
                await self._remember_workspace(learned)
            self.capabilities = connection.capabilities
            await self._restore(connection)
            self._connection = connection
            backoff.reset()
            self._interactive = False
            self._set("connected")
            self._attempt_done.set()
            # The SDK imports jsonschema on the first tool result it validates, which takes most of a
            # second; do it now, off the loop, instead of inside the person's first call.
            tg.start_soon(asyncio.to_thread, importlib.import_module, "jsonschema")
            await self._watch(connection)
            tg.cancel_scope.cancel()

    async def _remember_workspace(self, workspace: WorkspaceInfo) -> None:
        """Keep the workspace with the sign-in, so the card names it while the server is unreachable."""
        if self._auth is None or self.config.kind != "remote":
            return

        def note(credentials: Credentials) -> Credentials:
            return credentials.model_copy(
                update={
                    "workspace_name": workspace["name"],
                    "workspace_id": workspace["id"],
                    "workspace_icon": workspace["icon"],
                }
            )

        try:
            await self._auth.refresher(self.config).update(note)
        except Exception as exc:  # a name for a card is never worth failing a connection over
            log.info("%s: could not store the workspace: %s", self.config.id, type(exc).__name__)

    async def _restore(self, connection: Connection) -> None:
        """What the person set up outlives a session: the log level, and (handshake-era) subscriptions."""
        await self._apply_log_level(connection)
        if connection.modern or "subscribe" not in connection.capabilities:
            return
        for uri in sorted(self.subscriptions):
            try:
                with anyio.fail_after(REQUEST_TIMEOUT_S):
                    await connection.subscribe(uri)
            except Exception as exc:
                log.info("%s: subscribing again to %s failed: %s", self.config.id, uri, describe_error(exc))

    async def _listen_for_changes(
        self, connection: Connection, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """On 2026-era sessions change events come over ``subscriptions/listen``: list changes of every kind
        and updates of the subscribed resources. The stream is opened again when the subscriptions change.
        Older servers send notifications, which the session's message handler already catches."""
        from mcp.client.subscriptions import ListenNotSupportedError

        assert connection.client is not None
        client = connection.client
        started = False
        try:
            while True:
                self._relisten.clear()
                async with client.listen(
                    tools_list_changed=True,
                    prompts_list_changed=True,
                    resources_list_changed=True,
                    resource_subscriptions=sorted(self.subscriptions),
                ) as subscription:
                    self._listening.set()
                    if not started:
                        task_status.started()
                        started = True
                    async with anyio.create_task_group() as tg:

                        async def consume() -> None:
                            # Each event also reaches the session's message handler (the SDK tees them),
                            # which acts on it for both eras; the stream is only what asks for them.
                            async for _event in subscription:
                                pass
                            tg.cancel_scope.cancel()

                        async def relisten() -> None:
                            await self._relisten.wait()
                            tg.cancel_scope.cancel()

                        tg.start_soon(consume)
                        tg.start_soon(relisten)
                if not self._relisten.is_set():
                    return  # the server closed the stream
        except ListenNotSupportedError:
            pass
        except Exception as exc:
            # A listen stream that breaks is a hint that the session broke: check now rather than at the
            # next heartbeat.
            connection.note_transport_error(exc)
        if not started:
            task_status.started()

    @asynccontextmanager
    async def _connect(
        self, observations: HttpObservations, *, interactive: bool
    ) -> AsyncIterator[Connection]:
        secrets = await asyncio.to_thread(self._secrets, self.config) if self._secrets else Secrets()
        if self.config.kind == "stdio":
            async with self._open(StdioTransport.of(self.config, secrets.env)) as connection:
                yield connection
            return
        auth = None
        if self._auth is not None:
            auth = self._auth.auth_for(self.config, interactive=interactive)
            await auth.prepare()
        self._session_auth = auth
        url = self.config.url
        assert url

        def connect(kind: RemoteTransport) -> AbstractAsyncContextManager[Connection]:
            self.transport = kind
            transport = REMOTE[kind](
                url,
                auth=auth,
                observations=observations,
                max_event_bytes=self._max_event_bytes,
                headers=secrets.headers,
            )
            return self._open(transport)

        async with first_that_works(
            self.config.transport, self.config.detected_transport, connect, self._remember_transport
        ) as connection:
            yield connection

    def _open(self, transport: Transport) -> AbstractAsyncContextManager[Connection]:
        hooks = SessionHooks(
            on_list_changed=self._on_list_changed,
            on_resource_updated=self._on_resource_updated,
            on_log=self._on_log,
            elicitation=self._elicitation,
            sampling=self._sampling,
            roots=list(self.config.roots) if self.config.kind == "stdio" else [],
            log_level=self.log_level(),
        )
        return open_connection(self.config.id, transport, hooks)

    def _remember_transport(self, transport: RemoteTransport) -> None:
        self.config = self.config.model_copy(update={"detected_transport": transport})
        if self._on_transport_found is not None:
            self._on_transport_found(self.config.id, transport)

    async def _refresh_if_due(self, connection: Connection) -> None:
        """Refresh an idle session's token ahead of expiry, so the next call never waits on it."""
        if self._auth is None or self.config.kind != "remote":
            return
        refresher = self._auth.refresher(self.config)
        if not refresher.due():
            return
        try:
            await refresher.refresh(force=False)
        except NeedsAuthorization as exc:
            self._lost_to_auth = exc
            connection.mark_lost(str(exc))
        except (RefreshDeferred, ClientRejected) as exc:
            log.info("%s: refresh deferred: %s", self.config.id, exc)

    async def _watch(self, connection: Connection) -> None:
        """Return once the session is lost; meanwhile refresh tools when told and check on the server."""
        heartbeat = _heartbeat_interval(self.config.kind)
        while not connection.lost.is_set():
            suspicious = False
            with anyio.move_on_after(heartbeat):
                async with anyio.create_task_group() as tg:

                    async def wake_on(event: anyio.Event | asyncio.Event) -> None:
                        await event.wait()
                        tg.cancel_scope.cancel()

                    tg.start_soon(wake_on, connection.lost)
                    tg.start_soon(wake_on, connection.transport_error)
                    tg.start_soon(wake_on, self._tools_stale)
            if connection.lost.is_set():
                return
            if connection.transport_error.is_set():
                connection.transport_error = anyio.Event()
                suspicious = True
            if self._tools_stale.is_set():
                self._tools_stale.clear()
                try:
                    self.tools = await connection.list_tools()
                    self._send(ListChanged(server=self.config.id, list="tools"))
                    self._on_change()
                    continue
                except Exception as exc:
                    log.info("%s: refreshing tools failed: %s", self.config.id, describe_error(exc))
                    suspicious = True
            await self._refresh_if_due(connection)
            if connection.lost.is_set():
                return
            try:
                await connection.ping(3.0 if suspicious else 10.0)
            except Exception as exc:
                last = connection.last_transport_error
                connection.mark_lost(last or f"no answer to a ping ({describe_error(exc)})")
