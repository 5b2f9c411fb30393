"""A small MCP server for the host's tests: echo, slow calls, large results, images, a changing tool list.

    python -m tests.support.toy_server stdio
    python -m tests.support.toy_server http PORT      (streamable HTTP at /mcp)
    python -m tests.support.toy_server sse PORT       (legacy SSE at /sse)

Every call to ``count`` appends a line to the file named by TOY_CALL_LOG, so tests can prove a call ran
exactly once. A ``sleep`` with a ``tag`` writes "started TAG" when it begins and "cancelled TAG" when the
server cancels it (the client sent ``notifications/cancelled``) to the file named by TOY_EVENT_LOG, so tests
can wait for a call to be in flight and see that the server was told to stop it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import struct
import sys
import threading
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


def _event(line: str) -> None:
    path = os.environ.get("TOY_EVENT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


@server.tool()
async def sleep(seconds: float, tag: str = "") -> str:
    """Wait, then answer."""
    if tag:
        _event(f"started {tag}")
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        if tag:
            _event(f"cancelled {tag}")
        raise
    return f"slept {seconds}"


_arrived: dict[str, int] = {}


@server.tool()
async def meet(group: str, count: int, wait_s: float) -> str:
    """Answer once ``count`` calls of this ``group`` are under way at the same time (or after ``wait_s``,
    saying how many were): calls that run one after another can never all meet."""
    _arrived[group] = _arrived.get(group, 0) + 1
    deadline = time.monotonic() + wait_s
    while _arrived[group] < count and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    return "met" if _arrived[group] >= count else f"only {_arrived[group]} of {count} were under way"


@server.tool()
def linger(stay_s: float) -> str:
    """Keep the process alive ``stay_s`` after its session ends (stdin closed), as a server with work of its
    own would: only its client stopping it ends it sooner."""
    threading.Thread(target=time.sleep, args=(stay_s,), daemon=False).start()
    return "lingering"


@server.tool()
def hang_up(stay_s: float) -> str:
    """Close stdout just after answering, so the client sees the session end, but stay alive ``stay_s`` longer,
    deaf to stdin closing: the moment between a session ending and the client's cleanup lasts that long."""

    def later() -> None:
        time.sleep(0.3)
        # The SDK writes to a duplicate of the original stdout; close every descriptor of that pipe (Linux).
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                if _same_file(os.fstat(int(name)), _WIRE):
                    os.close(int(name))
        _event("hung up")
        time.sleep(stay_s)

    threading.Thread(target=later, daemon=False).start()
    return "hanging up"


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


#: The stdout pipe the client reads, identified before the SDK moves it to another descriptor.
_WIRE = os.fstat(1)


def _same_file(a: os.stat_result, b: os.stat_result) -> bool:
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


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
