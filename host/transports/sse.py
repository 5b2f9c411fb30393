"""Legacy HTTP+SSE (MCP 2024-11-05): answers come down one GET stream, requests go up as POSTs.

It is HTTP all the same: the same client, the same bounds and the same words for a failure as streamable HTTP;
only the SDK transport differs. The configuration holds the streamable HTTP URL; the SSE endpoint is found
beside it.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

import httpx2
from mcp.client.sse import sse_client

from host.protocol.events import ActiveTransport
from host.transports.base import Refused, Streams
from host.transports.http import HttpTransport


class SseTransport(HttpTransport):
    kind: ActiveTransport = "sse"

    def open(self, on_refused: Refused) -> AbstractAsyncContextManager[Streams]:
        self._start()

        def client(
            headers: dict[str, str] | None = None,
            timeout: httpx2.Timeout | None = None,
            auth: httpx2.Auth | None = None,
        ) -> httpx2.AsyncClient:
            return self.client(on_refused, headers=headers, timeout=timeout, auth=auth)

        return sse_client(sse_url(self.url), auth=self.auth, httpx_client_factory=client)


def sse_url(url: str) -> str:
    """The legacy SSE endpoint that goes with a streamable HTTP URL: ``…/mcp`` becomes ``…/sse``."""
    trimmed = url.rstrip("/")
    if trimmed.endswith("/mcp"):
        return trimmed[: -len("/mcp")] + "/sse"
    return url
