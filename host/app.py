"""The host's event loop: frames in, one reply per request out, status broadcast on every change.

Frames are read off stdin inside the loop (or on a thread where stdin is not a pipe); each request runs as its
own task so a slow tool call never holds up a ping or another call. Which handler answers which verb is the
table in host.protocol.verbs, filled by host.actions; handlers get the host's ``Services``, never the host.
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
from typing import Any, BinaryIO

from pydantic import ValidationError

from host import EXTENSION_ID, children, framing
from host.actions import VERBS
from host.chat import ChatService
from host.config import ConfigStore, ServerConfig
from host.elicitation import ElicitationBroker
from host.errors import BridgeError, ErrorCode, validation_words
from host.framing import EndOfStream, FrameWriter
from host.oauth.manager import AuthManager
from host.protocol.verbs import Verb, unpaired_surrogate
from host.protocol.wire import ErrorEvent, Outgoing, Reply
from host.sampling import SamplingBroker
from host.server_secrets import ServerSecrets
from host.servers import ServerSet
from host.services import Services
from host.status import StatusBoard
from host.supervisor import Supervisor

log = logging.getLogger(__name__)

#: How long sessions get to close by themselves at shutdown (a stdio child is asked by closing its stdin).
SHUTDOWN_GRACE_S = 1.0
#: Then children still running get SIGTERM, and this long to go before SIGKILL.
TERMINATE_WAIT_S = 0.3
#: The host is gone this long after the browser closed the port, whatever its tasks and threads are doing:
#: ``exit_watchdog`` stops the children and ends the process if the orderly shutdown has not by then.
EXIT_DEADLINE_S = 1.8

_EOF = object()


class Host:
    def __init__(
        self, writer: FrameWriter, origin: str | None = None, config: ConfigStore | None = None
    ) -> None:
        self.writer = writer
        extension_id = origin.removeprefix("chrome-extension://").strip("/") if origin else EXTENSION_ID
        auth = AuthManager(self.send, extension_id or EXTENSION_ID)
        config = config or ConfigStore()
        elicitations = ElicitationBroker(self.send)
        servers = ServerSet(self._make_supervisor, lambda: self.services.status.changed(), auth)
        status = StatusBoard(self.send, servers.all, lambda: [*config.notices, *auth.notices()])
        chat = ChatService(config, servers, auth, self.send)
        self.services = Services(
            config=config,
            servers=servers,
            auth=auth,
            status=status,
            chat=chat,
            elicitations=elicitations,
            sampling=SamplingBroker(self.send, chat),
            secrets=ServerSecrets(lambda: auth.store.backend),
        )
        auth.on_credentials_changed = lambda _server_id: status.changed()
        auth.client_metadata_url = lambda: config.current.oauth.client_metadata_url
        self._requests: dict[str, asyncio.Task[None]] = {}

    def _make_supervisor(self, server: ServerConfig) -> Supervisor:
        services = self.services
        return Supervisor(
            server,
            services.status.changed,
            services.auth,
            services.elicitations,
            max_event_bytes=services.config.current.limits.max_event_mib * 1024 * 1024,
            on_transport_found=services.config.remember_transport,
            send=self.send,
            sampling=services.sampling.callback_for,
            secrets=services.secrets.load,
        )

    def send(self, message: Outgoing) -> None:
        """The one way out: every reply and event the host sends is one of host.protocol.events."""
        try:
            self.writer.send(message)
        except OSError as exc:
            # The browser has gone; the read side will see EOF and shut the host down.
            log.info("could not write to the browser: %s", exc)

    # --- requests ----------------------------------------------------------------------------------

    def receive(self, message: dict[str, Any]) -> None:
        request_id = message.get("id")
        name = message.get("type")
        if not isinstance(request_id, str) or not request_id:
            described = f" ({name!r})" if isinstance(name, str) else ""
            self.send(
                ErrorEvent.of(ErrorCode.MISSING_ID, f"request{described} has no string 'id'; it was ignored")
            )
            return
        if not isinstance(name, str) or not name:
            self.send(Reply.failure(request_id, ErrorCode.MISSING_TYPE, "request has no string 'type'"))
            return
        verb = VERBS.get(name)
        if verb is None:
            self.send(Reply.failure(request_id, ErrorCode.UNKNOWN_VERB, f"unknown request type {name!r}"))
            return
        if request_id in self._requests:
            self.send(
                Reply.failure(
                    request_id, ErrorCode.DUPLICATE_ID, f"a request with id {request_id!r} is still in flight"
                )
            )
            return
        where = unpaired_surrogate(message)
        if where is not None:
            self.send(
                Reply.failure(
                    request_id,
                    ErrorCode.INVALID_ARGUMENTS,
                    f"{name}: {where}: holds an unpaired UTF-16 surrogate, which no UTF-8 text can carry",
                )
            )
            return
        try:
            request = verb.request.model_validate(message)
        except ValidationError as exc:
            self.send(
                Reply.failure(request_id, ErrorCode.INVALID_ARGUMENTS, f"{name}: {validation_words(exc)}")
            )
            return
        task = asyncio.create_task(self._answer(request_id, verb, request), name=f"request-{name}")
        self._requests[request_id] = task

    async def _answer(self, request_id: str, verb: Verb, request: Any) -> None:
        try:
            result = await verb.handler(self.services, request)
        except BridgeError as exc:
            self.send(Reply.failure(request_id, exc.code, exc.message))
        except asyncio.CancelledError:
            self.send(Reply.failure(request_id, ErrorCode.SHUTTING_DOWN, "the host is shutting down"))
            raise
        except Exception as exc:
            log.exception("request %s failed", request_id)
            self.send(Reply.failure(request_id, ErrorCode.INTERNAL, f"{type(exc).__name__}: {exc}"))
        else:
            self.send(Reply.success(request_id, result))
        finally:
            self._requests.pop(request_id, None)

    # --- lifecycle ---------------------------------------------------------------------------------

    async def run(self, inbox: asyncio.Queue[Any], on_eof: Callable[[], None] | None = None) -> None:
        services = self.services
        services.servers.start(services.config.current.servers)
        services.status.changed()
        while True:
            item = await inbox.get()
            if item is _EOF:
                if on_eof is not None:
                    on_eof()
                break
            if isinstance(item, BridgeError):
                self.send(ErrorEvent.of(item.code, item.message))
            else:
                self.receive(item)
        await self.shutdown()

    async def shutdown(self) -> None:
        for task in list(self._requests.values()):
            task.cancel()
        self.services.auth.browser.cancel_all("the host is shutting down")
        self.services.elicitations.cancel_all()
        self.services.sampling.cancel_all()
        pending = await self.services.servers.stop_all(SHUTDOWN_GRACE_S)
        if pending:
            log.warning("%d server(s) did not stop within %.1f s", len(pending), SHUTDOWN_GRACE_S)
            # A child that did not go when its stdin closed is stopped: SIGTERM, then SIGKILL. Its session's
            # own shutdown (the SDK's, which would wait longer) then sees it gone and finishes.
            await children.aterminate_then_kill(TERMINATE_WAIT_S)
            await asyncio.wait(pending, timeout=0.2)


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
            except BridgeError as exc:
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
    config: ConfigStore | None = None,
) -> None:
    inbox: asyncio.Queue[Any] = asyncio.Queue()
    await start_reader(stream or sys.stdin.buffer, inbox)
    await Host(writer, origin, config).run(inbox, on_eof)
