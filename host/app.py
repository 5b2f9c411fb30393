"""The host's event loop: frames in, one reply per request out, status broadcast on every change.

Frames are read on a thread (a blocking read of stdin works the same on every OS) and handed to the loop;
each request runs as its own task so a slow tool call never holds up a ping or another call.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, BinaryIO

from pydantic import ValidationError

from host import EXTENSION_ID, children, framing
from host import config as config_store
from host.actions import HANDLERS
from host.actions.errors import ActionError
from host.config import Config, ServerConfig
from host.elicitation import ElicitationBroker
from host.framing import EndOfStream, FrameError, FrameWriter
from host.oauth.manager import AuthManager
from host.protocol import (
    REQUEST_ADAPTER,
    ErrorCode,
    error_event,
    reply_error,
    reply_ok,
    unpaired_surrogate,
)
from host.supervisor import Supervisor

if TYPE_CHECKING:
    from host.agent.agent import ChatAgent

log = logging.getLogger(__name__)

#: How long sessions get to close by themselves at shutdown (a stdio child is asked by closing its stdin).
SHUTDOWN_GRACE_S = 1.0
#: Then children still running get SIGTERM, and this long to go before SIGKILL.
TERMINATE_WAIT_S = 0.3
#: The host is gone this long after the browser closed the port, whatever its tasks and threads are doing:
#: ``exit_watchdog`` stops the children and ends the process if the orderly shutdown has not by then.
EXIT_DEADLINE_S = 1.8
#: How long remote servers wait for the extension's hello (its browser profile) before starting anyway.
PROFILE_GRACE_S = 1.0

_EOF = object()


class Host:
    def __init__(self, writer: FrameWriter, origin: str | None = None) -> None:
        self.writer = writer
        self.notices: list[str] = []
        extension_id = origin.removeprefix("chrome-extension://").strip("/") if origin else EXTENSION_ID
        self.auth = AuthManager(self.send, extension_id or EXTENSION_ID)
        self.auth.on_credentials_changed = lambda _server_id: self.status_changed()
        self.elicitations = ElicitationBroker(self.send)
        # The chat agent is made on first use (host.actions.chat): its model client is slow to import.
        self.chat_agent: ChatAgent | None = None
        self.chat_turns: dict[str, asyncio.Task[str]] = {}
        self._remote_started = False
        try:
            self.config: Config = config_store.load()
        except config_store.ConfigError as exc:
            self.notices.append(str(exc))
            self.config = config_store.default_config()
        self.supervisors: dict[str, Supervisor] = {}
        self._requests: dict[str, asyncio.Task[None]] = {}
        self._status_scheduled = False

    # --- servers -----------------------------------------------------------------------------------

    def add_supervisor(self, server: ServerConfig, *, announce: bool = True) -> None:
        supervisor = self._make_supervisor(server)
        self.supervisors[server.id] = supervisor
        if announce:
            self.status_changed()
        supervisor.start()

    def _make_supervisor(self, server: ServerConfig) -> Supervisor:
        return Supervisor(
            server,
            self.status_changed,
            self.auth,
            self.elicitations,
            max_event_bytes=self.config.limits.max_event_mib * 1024 * 1024,
        )

    async def remove_supervisor(self, server_id: str) -> None:
        supervisor = self.supervisors.pop(server_id)
        await supervisor.stop()
        self.status_changed()

    def _start_remote(self) -> None:
        if self._remote_started:
            return
        self._remote_started = True
        for supervisor in self.supervisors.values():
            if supervisor.config.kind == "remote":
                supervisor.start()

    def set_profile(self, profile_id: str) -> None:
        changed = profile_id != self.auth.profile_id
        self.auth.profile_id = profile_id
        if changed and self._remote_started:
            for supervisor in self.supervisors.values():
                if supervisor.config.kind == "remote" and supervisor.state in ("needs_auth", "error"):
                    supervisor.retry_now()
        self._start_remote()

    def supervisor(self, server_id: str) -> Supervisor:
        try:
            return self.supervisors[server_id]
        except KeyError:
            known = ", ".join(sorted(self.supervisors)) or "none"
            raise ActionError(
                ErrorCode.UNKNOWN_SERVER, f"no server with id {server_id!r} (known: {known})"
            ) from None

    # --- status ------------------------------------------------------------------------------------

    def status_message(self) -> dict[str, Any]:
        return {
            "type": "status",
            "servers": [s.snapshot() for s in self.supervisors.values()],
            "notices": [*self.notices, *self.auth.notices()],
        }

    def status_changed(self) -> None:
        self.send(self.status_message())

    def send(self, message: dict[str, Any]) -> None:
        try:
            self.writer.send(message)
        except OSError as exc:
            # The browser has gone; the read side will see EOF and shut the host down.
            log.info("could not write to the browser: %s", exc)

    # --- requests ----------------------------------------------------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        verb = message.get("type")
        if not isinstance(request_id, str) or not request_id:
            described = f" ({verb!r})" if isinstance(verb, str) else ""
            self.send(
                error_event(ErrorCode.MISSING_ID, f"request{described} has no string 'id'; it was ignored")
            )
            return
        if not isinstance(verb, str) or not verb:
            self.send(reply_error(request_id, ErrorCode.MISSING_TYPE, "request has no string 'type'"))
            return
        handler = HANDLERS.get(verb)
        if handler is None:
            self.send(reply_error(request_id, ErrorCode.UNKNOWN_VERB, f"unknown request type {verb!r}"))
            return
        if request_id in self._requests:
            self.send(
                reply_error(
                    request_id, ErrorCode.DUPLICATE_ID, f"a request with id {request_id!r} is still in flight"
                )
            )
            return
        where = unpaired_surrogate(message)
        if where is not None:
            self.send(
                reply_error(
                    request_id,
                    ErrorCode.INVALID_ARGUMENTS,
                    f"{verb}: {where}: holds an unpaired UTF-16 surrogate, which no UTF-8 text can carry",
                )
            )
            return
        try:
            request = REQUEST_ADAPTER.validate_python(message)
        except ValidationError as exc:
            self.send(reply_error(request_id, ErrorCode.INVALID_ARGUMENTS, f"{verb}: {_first_error(exc)}"))
            return
        task = asyncio.create_task(self._answer(request_id, handler, request), name=f"request-{verb}")
        self._requests[request_id] = task

    async def _answer(self, request_id: str, handler: Any, request: Any) -> None:
        try:
            result = await handler(self, request)
        except ActionError as exc:
            self.send(reply_error(request_id, exc.code, exc.message))
        except asyncio.CancelledError:
            self.send(reply_error(request_id, ErrorCode.SHUTTING_DOWN, "the host is shutting down"))
            raise
        except Exception as exc:
            log.exception("request %s failed", request_id)
            self.send(reply_error(request_id, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}"))
        else:
            self.send(reply_ok(request_id, result))
        finally:
            self._requests.pop(request_id, None)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def run(self, inbox: asyncio.Queue[Any], on_eof: Callable[[], None] | None = None) -> None:
        for server in self.config.servers:
            self.supervisors[server.id] = self._make_supervisor(server)
        self.status_changed()
        for supervisor in self.supervisors.values():
            if supervisor.config.kind == "stdio":
                supervisor.start()
        # Remote servers may hold tokens of a particular browser profile; the extension names its profile in
        # its first request. Wait briefly for it rather than sign in with the wrong profile's tokens.
        asyncio.get_running_loop().call_later(PROFILE_GRACE_S, self._start_remote)
        while True:
            item = await inbox.get()
            if item is _EOF:
                if on_eof is not None:
                    on_eof()
                break
            if isinstance(item, FrameError):
                self.send(error_event(item.code, item.message))
            else:
                self.receive(item)
        await self.shutdown()

    async def shutdown(self) -> None:
        for task in list(self._requests.values()):
            task.cancel()
        self.auth.browser.cancel_all("the host is shutting down")
        self.elicitations.cancel_all()
        stops = [supervisor.stop() for supervisor in self.supervisors.values()]
        _done, pending = await asyncio.wait(
            [asyncio.ensure_future(stop) for stop in stops] or [asyncio.ensure_future(asyncio.sleep(0))],
            timeout=SHUTDOWN_GRACE_S,
        )
        if pending:
            log.warning("%d server(s) did not stop within %.1f s", len(pending), SHUTDOWN_GRACE_S)
            # A child that did not go when its stdin closed is stopped: SIGTERM, then SIGKILL. Its session's
            # own shutdown (the SDK's, which would wait longer) then sees it gone and finishes.
            await children.aterminate_then_kill(TERMINATE_WAIT_S)
            await asyncio.wait(pending, timeout=0.2)


def _first_error(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"][1:]) or ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


class _FrameProtocol(asyncio.Protocol):
    """Frames straight off the stdin pipe, inside the event loop: no thread hop per request."""

    def __init__(self, inbox: asyncio.Queue[Any]) -> None:
        self._inbox = inbox
        self._decoder = framing.FrameDecoder()

    def data_received(self, data: bytes) -> None:
        for item in self._decoder.feed(data):
            self._inbox.put_nowait(item)

    def eof_received(self) -> bool | None:
        self._inbox.put_nowait(_EOF)
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._inbox.put_nowait(_EOF)


def _start_reader_thread(
    stream: BinaryIO, loop: asyncio.AbstractEventLoop, inbox: asyncio.Queue[Any]
) -> None:
    """Read frames on a thread and queue them for the loop; for stdin that is not a pipe (and Windows)."""

    def read_loop() -> None:
        while True:
            try:
                item: Any = framing.read_frame(stream)
            except FrameError as exc:
                item = exc
            except (EndOfStream, OSError, ValueError):
                loop.call_soon_threadsafe(inbox.put_nowait, _EOF)
                return
            loop.call_soon_threadsafe(inbox.put_nowait, item)

    threading.Thread(target=read_loop, name="frame-reader", daemon=True).start()


async def start_reader(stream: BinaryIO, inbox: asyncio.Queue[Any]) -> None:
    loop = asyncio.get_running_loop()
    if sys.platform != "win32":
        try:
            await loop.connect_read_pipe(lambda: _FrameProtocol(inbox), stream)
            return
        except (ValueError, OSError, NotImplementedError):
            pass  # a regular file or a terminal: read it on a thread instead
    _start_reader_thread(stream, loop, inbox)


def exit_watchdog(deadline_s: float = EXIT_DEADLINE_S) -> None:
    """Guarantee the process ends ``deadline_s`` from now, with no stdio child left behind.

    The orderly shutdown normally finishes well before; this is for when it cannot: a task that ignores
    cancellation, a thread that never returns, ``asyncio.run`` waiting on either while it cleans up. A daemon
    thread, so it never holds the process up itself; it stops the children it knows (SIGTERM, then SIGKILL)
    and calls ``os._exit``.
    """

    def watch() -> None:
        time.sleep(max(deadline_s - TERMINATE_WAIT_S, 0.0))
        stopped = children.terminate_then_kill(TERMINATE_WAIT_S / 2)
        # Not through logging, whose handlers' locks a stuck thread may hold; and without blocking, so a full
        # stderr pipe cannot hold the exit up either.
        note = f"host: orderly shutdown overran {deadline_s:g} s; exiting ({stopped} child(ren) stopped)\n"
        with contextlib.suppress(Exception):
            os.set_blocking(2, False)
            os.write(2, note.encode())
        os._exit(0)

    threading.Thread(target=watch, name="exit-watchdog", daemon=True).start()


async def serve(
    writer: FrameWriter,
    origin: str | None = None,
    stream: BinaryIO | None = None,
    on_eof: Callable[[], None] | None = None,
) -> None:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    await start_reader(stream or sys.stdin.buffer, inbox)
    await Host(writer, origin).run(inbox, on_eof)
