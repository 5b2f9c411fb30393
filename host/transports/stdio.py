"""A local server as a child process, MCP over its stdin and stdout.

Its stderr goes to the host log under the server's name. The last few lines are kept too: when a child dies
at start-up they are the real error, and they end up in the words of the failed connection.
"""

from __future__ import annotations

import os
import sys
from collections import deque
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import anyio
from mcp import StdioServerParameters
from mcp.client.stdio import get_default_environment, stdio_client

from host import children, prestart
from host.config import ServerConfig
from host.prestart import LAST_WORDS, stderr_pipe
from host.protocol.events import ActiveTransport
from host.transports.base import Refused, Streams

# Every stdio child is known to the host from its start, so shutdown can make sure none outlives it.
children.track_stdio_spawns()

__all__ = ["LAST_WORDS", "StdioTransport"]


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
        # The child host.prestart started while the host was importing, if it is this very command.
        early = prestart.take(self.name, self.argv, env, self.cwd)
        if early is not None and prestart.sdk_environment(env) != get_default_environment() | (env or {}):
            # Started with other variables than the SDK would give it now: start it afresh, as the SDK does.
            prestart.stop(early)
            early = None
        if early is not None:
            self._last_words = early.tail
            errlog, close_errlog = sys.stderr, early.close_errlog
        else:
            errlog, close_errlog = stderr_pipe(self.name, self._last_words)
        try:
            async with AsyncExitStack() as stack:
                handed = (early.process, prestart.sdk_environment(env)) if early is not None else (None, None)
                with children.handed_over(*handed):
                    streams = await stack.enter_async_context(stdio_client(params, errlog=errlog))
                yield streams
        finally:
            close_errlog()

    async def why_failed(self, cause: str) -> str:
        if self._last_words:
            await anyio.sleep(0.05)  # let the pump thread catch the child's last words
            cause = f"{cause}; the server said: {self._last_words[-1]}"
        return cause
