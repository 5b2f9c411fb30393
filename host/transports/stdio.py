"""A local server as a child process, MCP over its stdin and stdout.

Its stderr goes to the host log under the server's name. The last few lines are kept too: when a child dies
at start-up they are the real error, and they end up in the words of the failed connection.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp import StdioServerParameters
from mcp.client.stdio import stdio_client

from host import children
from host.config import ServerConfig
from host.protocol.events import ActiveTransport
from host.transports.base import Refused, Streams

# Every stdio child is known to the host from its start, so shutdown can make sure none outlives it.
children.track_stdio_spawns()

#: How many of the child's last stderr lines are kept for the words of a failed start.
LAST_WORDS = 5


class StdioTransport:
    kind: ActiveTransport = "stdio"

    def __init__(
        self, name: str, argv: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None
    ) -> None:
        self.name = name
        self.argv = argv
        self.env = env or {}
        self.cwd = cwd
        self._last_words: deque[str] = deque(maxlen=LAST_WORDS)

    @classmethod
    def of(cls, server: ServerConfig, secret_env: dict[str, str] | None = None) -> StdioTransport:
        """The transport for a configured server; ``secret_env`` holds the values of its ``secret_env``
        variables, read from the keychain."""
        return cls(
            server.id, server.launch_command(), env={**server.env, **(secret_env or {})}, cwd=server.cwd
        )

    @asynccontextmanager
    async def open(self, on_refused: Refused) -> AsyncIterator[Streams]:
        # The child inherits the host's environment, with the server's own variables on top.
        env = {**os.environ, **self.env} if self.env else None
        params = StdioServerParameters(command=self.argv[0], args=self.argv[1:], env=env, cwd=self.cwd)
        errlog, close_errlog = _stderr_pipe(self.name, self._last_words)
        try:
            async with stdio_client(params, errlog=errlog) as streams:
                yield streams
        finally:
            close_errlog()

    async def why_failed(self, cause: str) -> str:
        if self._last_words:
            await anyio.sleep(0.05)  # let the pump thread catch the child's last words
            cause = f"{cause}; the server said: {self._last_words[-1]}"
        return cause


def _stderr_pipe(server_id: str, tail: deque[str]) -> tuple[Any, Callable[[], None]]:
    """A file the child's stderr goes to, whose lines land in the host log under the server's name and in
    ``tail``."""
    read_fd, write_fd = os.pipe()
    child_log = logging.getLogger(f"host.child.{server_id}")

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                text = line.rstrip()
                if text:
                    tail.append(text)
                    child_log.info("%s", text)

    threading.Thread(target=pump, name=f"stderr-{server_id}", daemon=True).start()
    errlog = os.fdopen(write_fd, "w")
    return errlog, errlog.close
