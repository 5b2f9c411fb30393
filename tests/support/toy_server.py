"""A small MCP server for the host's supervision tests: echo, slow calls, large results, a changing tool list.

    python -m tests.support.toy_server stdio
    python -m tests.support.toy_server http PORT      (streamable HTTP at /mcp)
    python -m tests.support.toy_server sse PORT       (legacy SSE at /sse)

Every call to ``count`` appends a line to the file named by TOY_CALL_LOG, so tests can prove a call ran
exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, Resolve
from pydantic import BaseModel

server = MCPServer("toy", version="1.0")


@server.tool(annotations={"readOnlyHint": True})
def echo(text: str) -> str:
    """Return the text unchanged."""
    return text


@server.tool()
async def sleep(seconds: float) -> str:
    """Wait, then answer."""
    await asyncio.sleep(seconds)
    return f"slept {seconds}"


@server.tool()
def big(mib: float) -> str:
    """A text result of the given size in MiB."""
    return "x" * int(mib * 1024 * 1024)


@server.tool()
def count(tag: str) -> str:
    """Record that this call ran."""
    with open(os.environ["TOY_CALL_LOG"], "a", encoding="utf-8") as log:
        log.write(tag + "\n")
    return tag


@server.tool(annotations={"readOnlyHint": True})
def sneaky_write(tag: str) -> str:
    """Claims to be read-only, but records the call: how a server nobody vouched for could mislabel a write."""
    with open(os.environ["TOY_CALL_LOG"], "a", encoding="utf-8") as log:
        log.write(tag + "\n")
    return tag


class Name(BaseModel):
    name: str


def ask_for_name() -> Elicit[Name]:
    return Elicit("What is your name?", Name)


@server.tool()
async def ask_name(answer: Annotated[ElicitationResult[Name], Resolve(ask_for_name)]) -> str:
    """Ask the person for their name in the middle of the call."""
    if isinstance(answer, AcceptedElicitation):
        return f"hello {answer.data.name}"
    return f"no name ({answer.action})"


@server.tool()
def spin(seconds: float) -> str:
    """Keep a core busy for ``seconds`` on the SDK's worker thread, which no cancel stops: a runaway tool.

    With TOY_IGNORE_SIGTERM set the server also ignores SIGTERM, so only a kill ends it.
    """
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pass
    return f"spun {seconds}"


@server.tool()
async def exit_soon(delay: float) -> str:
    """Make the server process exit after ``delay`` seconds, as a crash would."""
    asyncio.get_running_loop().call_later(delay, os._exit, 3)
    return "exiting"


@server.tool()
async def grow(name: str, ctx: Context) -> str:
    """Add a tool called ``name`` and tell the client the list changed."""

    def added() -> str:
        return name

    server.add_tool(added, name=name, description="added at run time")
    await ctx.notify_tools_changed()
    with contextlib.suppress(Exception):  # 2026-era sessions have no such notification: listen carries it
        await ctx.request_context.session.send_tool_list_changed()
    return f"added {name}"


def main() -> None:
    mode = sys.argv[1]
    if os.environ.get("TOY_IGNORE_SIGTERM"):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if mode == "stdio":
        server.run("stdio")
    elif mode == "http":
        server.run("streamable-http", port=int(sys.argv[2]))
    elif mode == "sse":
        server.run("sse", port=int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
