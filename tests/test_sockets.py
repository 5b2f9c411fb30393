"""The sockets under the host's HTTP clients (host/transports/sockets.py), against servers on 127.0.0.1 that
misbehave on purpose: closing idle connections, sending stray bytes, stalling, sending a lot, speaking TLS."""

from __future__ import annotations

import asyncio
import ssl
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from host.transports.http import HttpTransport, MessageTooLarge
from host.transports.sockets import (
    HIGH_WATER,
    KEEPALIVE_S,
    QUIET_S,
    AsyncioBackend,
    AsyncioStream,
    pooled_transport,
)
from tests.support.processes import free_port
from tests.support.tls import make_certificates

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the host's loop


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, int], Awaitable[None]]


def answer(body: bytes, *, close: bool = False) -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\nContent-Type: text/plain\r\n"
    return (head + ("Connection: close\r\n" if close else "") + "\r\n").encode() + body


async def read_request(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


@asynccontextmanager
async def server(handler: Handler, tls: ssl.SSLContext | None = None) -> AsyncIterator[tuple[str, list[int]]]:
    """A server on 127.0.0.1 that runs ``handler`` per connection; yields its URL and the connections' count."""
    opened: list[int] = []

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        opened.append(len(opened))
        try:
            await handler(reader, writer, len(opened))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    listening = await asyncio.start_server(on_connection, "127.0.0.1", 0, ssl=tls)
    port = listening.sockets[0].getsockname()[1]
    try:
        yield f"{'https' if tls else 'http'}://127.0.0.1:{port}/", opened
    finally:
        listening.close()


def host_client() -> httpx2.AsyncClient:
    """A client exactly as the host builds one for a server."""
    return HttpTransport("http://127.0.0.1/mcp").client(lambda words: None)


async def test_the_host_clients_open_asyncio_streams_and_reuse_them() -> None:
    """The pool httpx builds is replaced by one that opens AsyncioStreams: this fails if an httpx release
    stops reading its pool from where pooled_transport puts it."""

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            writer.write(answer(b"hello"))

    async with server(keep_alive) as (url, opened), host_client() as client:
        assert isinstance(client._transport._pool._network_backend, AsyncioBackend)  # type: ignore[attr-defined]
        first = await client.get(url)
        assert isinstance(first.extensions["network_stream"], AsyncioStream)
        texts = [(await client.get(url)).text for _ in range(5)]
    assert first.text == "hello" and texts == ["hello"] * 5
    assert len(opened) == 1, "one kept-alive connection served all six requests"


@pytest.mark.parametrize("then", ["closes", "sends stray bytes"])
async def test_an_idle_connection_the_server_is_done_with_is_not_used_again(then: str) -> None:
    """Without this check the next request goes out on a dead connection and fails with "Server disconnected
    without sending a response"; with it the pool opens a new one and the request answers."""

    async def one_then(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer(f"answer {n}".encode()))
        await asyncio.sleep(0.05)
        if then == "sends stray bytes":
            writer.write(b"HTTP/1.1 200 OK\r\n")
            await asyncio.sleep(1)

    async with server(one_then) as (url, opened), host_client() as client:
        assert (await client.get(url)).text == "answer 1"
        await asyncio.sleep(0.3)
        assert (await client.get(url)).text == "answer 2"
    assert len(opened) == 2


async def test_a_stalled_answer_is_a_read_timeout_and_a_closed_port_a_connect_error() -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        await asyncio.sleep(5)

    async with server(stall) as (url, _), httpx2.AsyncClient(transport=pooled_transport()) as client:
        with pytest.raises(httpx2.ReadTimeout):
            await client.get(url, timeout=httpx2.Timeout(5.0, read=0.2))
    async with httpx2.AsyncClient(transport=pooled_transport()) as client:
        with pytest.raises(httpx2.ConnectError):
            await client.get(f"http://127.0.0.1:{free_port()}/")  # nothing listens there


async def test_a_large_answer_arrives_whole_through_the_read_window() -> None:
    """Far more than HIGH_WATER at once: reading pauses and resumes and every byte arrives in order."""
    body = bytes(range(256)) * (HIGH_WATER * 6 // 256)

    async def big(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        await read_request(reader)
        writer.write(answer(body))
        await writer.drain()

    async with (
        server(big) as (url, _),
        httpx2.AsyncClient(transport=pooled_transport()) as client,
        client.stream("GET", url) as response,
    ):
        await asyncio.sleep(0.3)  # let the server's bytes pile up behind the paused reader
        received = b"".join([part async for part in response.aiter_raw()])
    assert received == body


async def test_a_large_request_body_goes_out_whole() -> None:
    body = b"x" * (HIGH_WATER * 8)

    async def echo_length(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        head = await read_request(reader)
        length = int(
            next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))[15:]
        )
        await asyncio.sleep(0.2)  # the client's writes wait on the full socket meanwhile
        got = await reader.readexactly(length)
        writer.write(answer(str(len(got)).encode() if got == body else b"mangled"))

    async with server(echo_length) as (url, _), httpx2.AsyncClient(transport=pooled_transport()) as client:
        response = await client.post(url, content=body)
    assert response.text == str(len(body))


async def test_a_request_cancelled_while_it_waits_leaves_the_client_usable() -> None:
    async def slow_first(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            if n == 1:
                await asyncio.sleep(5)
            writer.write(answer(b"ok"))

    async with (
        server(slow_first) as (url, opened),
        httpx2.AsyncClient(transport=pooled_transport()) as client,
    ):
        with anyio.move_on_after(0.2) as scope:
            await client.get(url)
        assert scope.cancelled_caught
        assert (await client.get(url)).text == "ok"
    assert len(opened) == 2, "the cancelled request's connection was dropped, not reused mid-answer"


async def test_tls_is_verified_against_the_trusted_certificates(monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTPS the way Notion's hosted server is reached: by name, the certificate checked against what the system
    (here SSL_CERT_FILE) trusts, keep-alive over TLS, and a certificate from an authority nobody trusts
    refused."""

    async def keep_alive(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            await read_request(reader)
            writer.write(answer(b"secure"))

    with tempfile.TemporaryDirectory() as directory:
        certificates = make_certificates(Path(directory), "localhost")
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(certificates.cert_file, certificates.key_file)
        async with server(keep_alive, tls) as (address, opened):
            url = address.replace("127.0.0.1", "localhost")
            async with httpx2.AsyncClient(transport=pooled_transport()) as client:
                with pytest.raises(httpx2.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
                    await client.get(url)
            monkeypatch.setenv("SSL_CERT_FILE", str(certificates.ca_file))
            async with httpx2.AsyncClient(transport=pooled_transport()) as client:
                first = await client.get(url)
                second = await client.get(url)
                assert first.extensions["network_stream"].get_extra_info("ssl_object") is not None
    assert (first.text, second.text) == ("secure", "secure")
    assert len(opened) == 1, (
        "one TLS connection served both requests (the refused one never got past its handshake)"
    )


@pytest.mark.parametrize("framing", ["chunked", "declared"])
async def test_an_answer_over_the_bound_is_refused_with_the_limit_named_however_it_is_framed(
    framing: str,
) -> None:
    """The bound on one message (limits.max_event_mib) holds for a body that declares its length (refused
    before it is read) and for a chunked one (refused as it passes the bound); within it, both arrive whole."""

    async def sized(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        while True:
            head = await read_request(reader)
            body = b"y" * (4096 if b"/big" in head.split(b"\r\n")[0] else 512)
            if framing == "declared":
                writer.write(answer(body))
            else:
                chunks = b"".join(
                    b"%x\r\n%s\r\n" % (256, body[i : i + 256]) for i in range(0, len(body), 256)
                )
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n")

    heard: list[str] = []
    async with server(sized) as (url, _):
        transport = HttpTransport(url, max_event_bytes=1024)
        async with transport.client(heard.append) as client:
            assert (await client.get(url + "small?q=1")).content == b"y" * 512
            with pytest.raises(MessageTooLarge, match="MiB limit"):
                await client.get(url + "big?token=secret")
    assert len(heard) == 1 and "limits.max_event_mib" in heard[0]
    assert "/big" in heard[0] and "secret" not in heard[0], "the URL is named without its query"


async def test_a_connection_is_dropped_before_its_server_would_drop_it_for_idling() -> None:
    """The keep-alive race: a server that closes connections idle for 2 s (gunicorn's default) gets a request
    just as it closes one, and the request is lost unanswered; a tool call cannot be sent again, so the host
    must not reuse a connection that long idle. This server makes the race certain: a request on a connection
    idle for 2 s or more is dropped unread, as if it had crossed the close on the wire."""
    idle_close_s = 2.0

    async def idles_out(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, n: int) -> None:
        last = asyncio.get_running_loop().time()
        while True:
            await read_request(reader)
            if asyncio.get_running_loop().time() - last >= idle_close_s:
                return  # closed for idling: the request crossed the close
            writer.write(answer(b"ok"))
            last = asyncio.get_running_loop().time()

    assert idle_close_s > KEEPALIVE_S
    async with server(idles_out) as (url, opened), httpx2.AsyncClient(transport=pooled_transport()) as client:
        assert (await client.get(url)).text == "ok"
        await asyncio.sleep(0.5)
        assert (await client.get(url)).text == "ok"  # reused: quiet for less than KEEPALIVE_S
        await asyncio.sleep(idle_close_s + 0.1)
        assert (await client.get(url)).text == "ok"  # a new connection, not the one the server dropped
    assert len(opened) == 2


async def test_a_close_the_event_loop_has_not_seen_yet_is_found_before_reuse() -> None:
    """A server's close can reach the kernel while the host's loop is busy elsewhere: the protocol has not
    heard of it yet, so a connection quiet for QUIET_S or more is checked with the kernel before reuse. (The
    server runs on a thread of its own here, so that it closes while this test's loop is blocked.)"""
    import socket
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    answered: list[int] = []

    def serve() -> None:
        for n in (1, 2):
            conn, _ = listener.accept()
            with conn:
                while b"\r\n\r\n" not in conn.recv(65536):
                    pass
                conn.sendall(answer(f"answer {n}".encode()))
                answered.append(n)
                time.sleep(0.1)  # then closes, without "Connection: close"

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        async with host_client() as client:
            url = f"http://127.0.0.1:{port}/"
            assert (await client.get(url)).text == "answer 1"
            time.sleep(QUIET_S + 0.3)  # the loop is busy: the close reaches the kernel, not the protocol
            assert (await client.get(url)).text == "answer 2"
    finally:
        listener.close()
    assert answered == [1, 2]
