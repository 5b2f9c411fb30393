"""Streamable HTTP, the MCP spec's remote transport, with a bound on every message a server sends.

Tool results of several MiB are legitimate (a long Notion page, a big query), so the SDK's 1 MiB is too small;
unbounded would let a broken or hostile server fill the host's memory. The bound is per message:
``limits.max_event_mib`` in the configuration.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass
from typing import Any

import httpx2
from mcp.client.streamable_http import streamable_http_client

from host.origins import same_origin
from host.protocol.events import ActiveTransport
from host.transports.base import Refused, Streams, TransportUnsupported
from host.transports.sockets import pooled_transport

#: The default bound on one message from a remote server (``limits.max_event_mib`` changes it).
DEFAULT_MAX_EVENT_BYTES = 16 * 1024 * 1024

_TIMEOUT = httpx2.Timeout(30.0, read=300.0)

_HTTP_WORDS = {
    401: "the server requires sign-in (HTTP 401)",
    403: "the server refused access (HTTP 403)",
    404: "nothing serves MCP at this URL (HTTP 404)",
    429: "the server is rate-limiting (HTTP 429)",
    500: "the server failed (HTTP 500)",
    502: "bad gateway (HTTP 502)",
    503: "the server is unavailable (HTTP 503)",
}


class MessageTooLarge(httpx2.TransportError):
    """A remote server sent one message bigger than ``limits.max_event_mib``."""


class _CappedBody(httpx2.AsyncByteStream):
    """A response body that stops with MessageTooLarge once it passes ``limit`` bytes."""

    def __init__(self, inner: Any, limit: int, url: httpx2.URL, refused: Refused) -> None:
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


def _too_large(limit: int, url: httpx2.URL) -> str:
    where = url.copy_with(query=None, fragment=None)
    return f"{where} sent a message larger than the {limit / 2**20:g} MiB limit (limits.max_event_mib)"


def bound_bodies(limit: int, refused: Refused) -> Callable[[httpx2.Response], Awaitable[None]]:
    """A response hook that caps plain (non-SSE) bodies, which 2026-era servers use for every answer: the
    SDK reads them whole. SSE streams are capped per event by the SDK's EventSource instead, since one
    stream carries many messages. ``refused`` hears why first: the SDK reports only "connection closed" to
    the call whose answer was refused.

    A body that declares its length within the bound is left as it is: the HTTP/1.1 parser reads exactly
    the declared length, never more, and wrapping every answer costs a few per cent of the host's CPU."""

    async def hook(response: httpx2.Response) -> None:
        headers = response.headers
        if headers.get("content-type", "").lower().startswith("text/event-stream"):
            return
        declared = headers.get("content-length", "")
        if declared.isdigit():
            if int(declared) <= limit:
                return
            await response.aclose()
            words = _too_large(limit, response.request.url)
            refused(words)
            raise MessageTooLarge(words)
        response.stream = _CappedBody(response.stream, limit, response.request.url, refused)

    return hook


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


def custom_headers(headers: dict[str, str], url: str) -> Callable[[httpx2.Request], Awaitable[None]]:
    """A request hook that adds a server's custom headers to requests for ``url``'s origin, and to no other:
    not to an authorization server elsewhere, not to wherever a redirect or a metadata document points."""

    async def hook(request: httpx2.Request) -> None:
        if same_origin(str(request.url), url):
            for name, value in headers.items():
                request.headers[name] = value

    return hook


class HttpTransport:
    """Streamable HTTP to ``url``; ``observations`` may be shared by the transports of one attempt, so the
    caller can read a Retry-After whichever of them saw it. ``headers`` go to ``url``'s origin only."""

    kind: ActiveTransport = "http"

    def __init__(
        self,
        url: str,
        *,
        auth: httpx2.Auth | None = None,
        observations: HttpObservations | None = None,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.url = url
        self.auth = auth
        self.observations = observations or HttpObservations()
        self.max_event_bytes = max_event_bytes
        self.headers = dict(headers or {})

    def open(self, on_refused: Refused) -> AbstractAsyncContextManager[Streams]:
        self._start()
        return streamable_http_client(
            self.url,
            http_client=self.client(on_refused, auth=self.auth),
            max_sse_event_size=self.max_event_bytes,
        )

    def client(
        self,
        on_refused: Refused,
        *,
        headers: dict[str, str] | None = None,
        timeout: httpx2.Timeout | None = None,
        auth: httpx2.Auth | None = None,
    ) -> httpx2.AsyncClient:
        """An HTTP client that watches every answer, bounds every body and adds the server's own headers."""
        return httpx2.AsyncClient(
            transport=pooled_transport(),
            headers=headers,
            timeout=timeout or _TIMEOUT,
            auth=auth,
            event_hooks={
                "request": [custom_headers(self.headers, self.url)] if self.headers else [],
                "response": [
                    self.observations.on_response,
                    bound_bodies(self.max_event_bytes, on_refused),
                ],
            },
        )

    def _start(self) -> None:
        # A 404 or 405 means "not this transport" only as the first answer to this one, not to one tried before.
        self.observations.first_status = None

    async def why_failed(self, cause: str) -> str:
        status = self.observations.first_status
        if status in (404, 405):
            raise TransportUnsupported(f"{self.url} answered HTTP {status} to {self.kind.upper()}")
        failed = self.observations.error_status
        if failed is not None and "HTTP" not in cause:
            # The SDK turns an HTTP failure into a generic JSON-RPC error; the status says more.
            cause = _HTTP_WORDS.get(failed, f"HTTP {failed}") + f" ({cause})"
        return cause
