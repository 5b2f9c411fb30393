"""The sockets under every HTTP client the host opens: asyncio's own, not anyio's.

With many calls in flight the connection pool asks every idle connection "still open?" on each request and on
each answer. anyio answers by building the socket's whole attribute table (a ``getpeername`` system call) and
then polling the socket: 14 % of the host's CPU with 32 calls in flight (py-spy over bench.host_overhead's
concurrent run). A protocol that is told of every byte and every close mostly knows without asking; the kernel
is asked only about a connection quiet for ``QUIET_S``, the only kind a server closes for idling, since a close
may have reached the kernel after the event loop last looked. Reads and writes also skip anyio's per-call
cancel scopes: a read that finds data waiting returns it without a timer.

Cancellation is unchanged: anyio's scopes on asyncio cancel the task, and a read or write here is a plain
asyncio await that the cancellation ends.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore2
import httpx2

#: Reading stops (the kernel's window fills) while this much is received and not yet taken: a server that
#: sends faster than the host reads cannot fill its memory.
HIGH_WATER = 1024 * 1024

#: A connection used less than this long ago was not closed by its server for idling (keep-alive timeouts
#: are seconds long); one quiet for longer is checked with the kernel before it is used again.
QUIET_S = 0.25

_CONNECT_ERRORS: dict[type[Exception], type[Exception]] = {
    TimeoutError: httpcore2.ConnectTimeout,
    OSError: httpcore2.ConnectError,
}


@contextmanager
def _mapped(errors: dict[type[Exception], type[Exception]]) -> Iterator[None]:
    """The socket's errors as the httpcore errors the HTTP client turns into its own."""
    try:
        yield
    except tuple(errors) as error:
        raise next(to for kind, to in errors.items() if isinstance(error, kind))(
            str(error) or repr(error)
        ) from error


class _Connection(asyncio.Protocol):
    """One connection's received bytes and its state, kept as the event loop reports them."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.received = bytearray()
        self.closed = False
        """The server closed its side, or the connection broke: nothing more will arrive."""
        self.error: Exception | None = None
        self.last_active = time.monotonic()
        self.fd = -1
        self._reading_paused = False
        self._readable: asyncio.Future[None] | None = None
        self._writable: asyncio.Future[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        raw = transport.get_extra_info("socket")
        self.fd = raw.fileno() if raw is not None else -1

    def data_received(self, data: bytes) -> None:
        self.last_active = time.monotonic()
        self.received += data
        if len(self.received) > HIGH_WATER and not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()
        self._wake_reader()

    def eof_received(self) -> bool:
        self.closed = True
        self._wake_reader()
        return False  # close our side too: HTTP/1.1 never half-closes

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.error = exc
        self._wake_reader()
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    def _wake_reader(self) -> None:
        if self._readable is not None and not self._readable.done():
            self._readable.set_result(None)

    async def wait_readable(self) -> None:
        self._readable = asyncio.get_running_loop().create_future()
        try:
            await self._readable
        finally:
            self._readable = None

    async def wait_writable(self) -> None:
        if self._writable is not None:
            await asyncio.shield(self._writable)

    def take(self, max_bytes: int) -> bytes:
        data = bytes(self.received[:max_bytes])
        del self.received[:max_bytes]
        if self._reading_paused and len(self.received) <= HIGH_WATER // 2 and self.transport is not None:
            self._reading_paused = False
            self.transport.resume_reading()
        return data


#: httpcore's names for what a connection can tell about itself, and asyncio's for the same.
_EXTRA_INFO = {
    "ssl_object": "ssl_object",
    "client_addr": "sockname",
    "server_addr": "peername",
    "socket": "socket",
}


class AsyncioStream(httpcore2.AsyncNetworkStream):
    """One TCP (or TLS) connection as httpcore reads and writes it."""

    def __init__(self, transport: asyncio.Transport, connection: _Connection) -> None:
        self._transport = transport
        self._connection = connection

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        connection = self._connection
        if not connection.received and not connection.closed:
            with _mapped({TimeoutError: httpcore2.ReadTimeout}):
                async with asyncio.timeout(timeout):
                    await connection.wait_readable()
        if connection.received:
            return connection.take(max_bytes)
        if connection.error is not None:
            raise httpcore2.ReadError(str(connection.error) or repr(connection.error))
        return b""

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        if self._transport.is_closing():
            raise httpcore2.WriteError("the connection is closed")
        self._transport.write(buffer)
        self._connection.last_active = time.monotonic()
        with _mapped({TimeoutError: httpcore2.WriteTimeout}):
            async with asyncio.timeout(timeout):
                await self._connection.wait_writable()
        if self._connection.error is not None:
            raise httpcore2.WriteError(str(self._connection.error))

    async def aclose(self) -> None:
        self._transport.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped({**_CONNECT_ERRORS, ssl.SSLError: httpcore2.ConnectError}):
            try:
                secured = await loop.start_tls(
                    self._transport,
                    self._connection,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=timeout,
                )
            except BaseException:
                self._transport.close()
                raise
        if secured is None:  # the connection closed during the handshake
            raise httpcore2.ConnectError("the server closed the connection during the TLS handshake")
        assert isinstance(secured, asyncio.Transport)
        self._connection.transport = secured
        return AsyncioStream(secured, self._connection)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            # Asked of idle connections only: anything received, or a close, means the server is done with it.
            connection = self._connection
            if connection.closed or connection.received:
                return True
            return time.monotonic() - connection.last_active >= QUIET_S and _kernel_has_news(connection.fd)
        name = _EXTRA_INFO.get(info)
        return self._transport.get_extra_info(name) if name is not None else None


def _kernel_has_news(fd: int) -> bool:
    """Whether the socket has bytes or a close waiting that the event loop has not handed over yet."""
    if fd < 0:
        return False
    if sys.platform == "win32":  # no poll(); select takes any socket there
        return bool(select.select([fd], [], [], 0)[0])
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(0))


class AsyncioBackend(httpcore2.AsyncNetworkBackend):
    """Opens AsyncioStreams: TCP with Nagle off (asyncio's default), happy eyeballs across addresses."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _mapped(_CONNECT_ERRORS):
            async with asyncio.timeout(timeout):
                transport, connection = await loop.create_connection(
                    _Connection,
                    host,
                    port,
                    local_addr=(local_address, 0) if local_address else None,
                    happy_eyeballs_delay=0.25,
                )
        return _opened(transport, connection, socket_options)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


def _opened(
    transport: asyncio.BaseTransport, connection: _Connection, options: Iterable[Any] | None
) -> AsyncioStream:
    assert isinstance(transport, asyncio.Transport)
    raw: socket.socket | None = transport.get_extra_info("socket")
    for option in options or ():
        if raw is not None:
            raw.setsockopt(*option)
    return AsyncioStream(transport, connection)


#: An idle connection is dropped after KEEPALIVE_S, before its server would drop it. A server closes an idle
#: connection after its own keep-alive timeout (uvicorn and Node 5 s, gunicorn 2 s, nginx 75 s); a request sent
#: as that close crosses it on the wire is lost with "Server disconnected without sending a response", and
#: a tool call must not be sent twice, so it cannot be retried. httpx's 5 s equals the most common server
#: timeout: 48 of 1,984 calls failed in bursts made 4.90-5.08 s after the last, against a uvicorn server.
KEEPALIVE_S = 1.5
LIMITS = httpx2.Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_S)


def pooled_transport(limits: httpx2.Limits = LIMITS) -> httpx2.AsyncHTTPTransport:
    """httpx's own transport (its request and error mapping) over a pool that opens AsyncioStreams.

    httpx builds its pool without a way to choose the network backend, so the pool is replaced whole with the
    same settings; tests/test_sockets.py fails if an httpx release stops reading it from there.
    """
    verify = httpx2.create_ssl_context()  # once: loading the CA bundle is the costly part of a client
    transport = httpx2.AsyncHTTPTransport(verify=verify, limits=limits)
    transport._pool = httpcore2.AsyncConnectionPool(
        ssl_context=verify,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=AsyncioBackend(),
    )
    return transport
