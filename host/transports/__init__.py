"""Opening an MCP session with one configured server, whatever carries it.

    base.py        what a transport is (the Transport protocol) and how connecting fails
    http.py        streamable HTTP, with the bound on what a server may send
    sockets.py     the connections under every HTTP client: asyncio's own, cheap to check while idle
    sse.py         legacy HTTP+SSE
    stdio.py       a local server as a child process, its stderr in the log
    fallback.py    HTTP first, SSE on 404/405, the one that worked first next time
    connection.py  the MCP session over any of them: the Connection the supervisor holds
    errors.py      failures in words, and which ones mean the connection is gone

Importing this package makes the host track every stdio child the SDK starts (see host.children).
"""

from host.transports.base import ConnectFailed, Transport, TransportUnsupported
from host.transports.connection import Connection, SessionHooks, connect_timeout_s, open_connection
from host.transports.errors import describe_error, is_connection_loss, leaf_errors
from host.transports.fallback import REMOTE, first_that_works
from host.transports.http import (
    DEFAULT_MAX_EVENT_BYTES,
    HttpObservations,
    HttpTransport,
    MessageTooLarge,
    bound_bodies,
)
from host.transports.sse import SseTransport
from host.transports.stdio import StdioTransport

__all__ = [
    "DEFAULT_MAX_EVENT_BYTES",
    "REMOTE",
    "ConnectFailed",
    "Connection",
    "HttpObservations",
    "HttpTransport",
    "MessageTooLarge",
    "SessionHooks",
    "SseTransport",
    "StdioTransport",
    "Transport",
    "TransportUnsupported",
    "bound_bodies",
    "connect_timeout_s",
    "describe_error",
    "first_that_works",
    "is_connection_loss",
    "leaf_errors",
    "open_connection",
]
