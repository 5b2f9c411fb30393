"""A transport's failures in words for a person, and which of them mean the connection itself is gone.

The SDK reports failures wrapped in anyio's exception groups, as httpx2 errors, as JSON-RPC errors or as a
child that would not start; whatever carried the session, the person reads one line naming the cause.
"""

from __future__ import annotations

import anyio
import httpx2
from mcp.shared.exceptions import MCPError

from host.transports.base import ConnectFailed
from host.transports.http import MessageTooLarge


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
