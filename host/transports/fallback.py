"""Which transport to reach a remote server with: streamable HTTP first, legacy SSE when the endpoint answers
404 or 405 (the MCP spec's backwards-compatibility section), and next time first whichever worked.

Only the order and the remembering are decided here; the caller opens each transport, and the configuration,
which owns it, stores what worked.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from host.config import RemoteTransport, TransportChoice
from host.transports.base import TransportUnsupported
from host.transports.connection import Connection
from host.transports.http import HttpTransport
from host.transports.sse import SseTransport

log = logging.getLogger(__name__)

#: The remote transports by the name the configuration and the status use.
REMOTE: dict[RemoteTransport, type[HttpTransport]] = {"http": HttpTransport, "sse": SseTransport}


def order(choice: TransportChoice, remembered: RemoteTransport | None) -> list[RemoteTransport]:
    """The transports to try: the one chosen, or with ``auto`` both, the one that worked last time first."""
    if choice != "auto":
        return [choice]
    return ["sse", "http"] if remembered == "sse" else ["http", "sse"]


@asynccontextmanager
async def first_that_works(
    choice: TransportChoice,
    remembered: RemoteTransport | None,
    connect: Callable[[RemoteTransport], AbstractAsyncContextManager[Connection]],
    on_found: Callable[[RemoteTransport], None] | None = None,
) -> AsyncIterator[Connection]:
    """The connection ``connect`` opens over the first transport in ``order`` the endpoint speaks.

    ``on_found`` hears of a transport that worked where ``auto`` remembered another (or none), so it is tried
    first next time. When the endpoint speaks none of them, the last TransportUnsupported is raised.
    """
    unsupported: TransportUnsupported | None = None
    for kind in order(choice, remembered):
        try:
            async with connect(kind) as connection:
                if choice == "auto" and kind != remembered and on_found is not None:
                    on_found(kind)
                yield connection
            return
        except TransportUnsupported as exc:
            log.info("%s; trying the next transport", exc)
            unsupported = exc
    assert unsupported is not None, "order() always names a transport"
    raise unsupported
