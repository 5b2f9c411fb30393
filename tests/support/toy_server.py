"""A small MCP server for the host's tests: echo, slow calls, large results, images, a changing tool list.

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
import struct
import sys
import time
import zlib
from typing import Annotated

from mcp.server import MCPServer
from mcp.server.mcpserver import AcceptedElicitation, Context, Elicit, ElicitationResult, Image, Resolve
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


WORDS = [
    "the",
    "quarterly",
    "report",
    "shows",
    "revenue",
    "grew",
    "in",
    "every",
    "region",
    "while",
    "costs",
    "held",
    "steady",
    "and",
    "the",
    "team",
    "shipped",
]


@server.tool(annotations={"readOnlyHint": True})
def words(kib: int) -> str:
    """About ``kib`` KiB of ordinary words, numbered lines: a long tool result that reads like one."""
    lines, size, n = [], 0, 0
    while size < kib * 1024:
        line = f"{n}: " + " ".join(WORDS[(n + i) % len(WORDS)] for i in range(12))
        lines.append(line)
        size += len(line) + 1
        n += 1
    return "\n".join(lines)


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A PNG of one colour, made by hand (no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@server.tool(annotations={"readOnlyHint": True})
def picture() -> Image:
    """A 48x32 orange picture."""
    return Image(data=png(48, 32, (255, 128, 0)), format="png")


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
