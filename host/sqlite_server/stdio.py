"""A small MCP server over stdio (newline-delimited JSON-RPC), on the standard library alone.

The SQLite server is a child of every host, started with it and idle most of the day. Built on the MCP SDK it
imported about as much as the host does (most of a second, and some 70 MiB resident) to offer three tools; this
module speaks the part of MCP a tools-only server needs, so the child starts in a few tens of milliseconds,
stays small, and sleeps when nobody calls it (stdin is read by one blocking thread, statements run on a pool
whose idle threads block too).

What it speaks: both eras of the protocol. The handshake era (``initialize``, ``notifications/initialized``,
``ping``; versions 2024-11-05 to 2025-11-25) and the 2026-07-28 era (``server/discover``, the version and client
in each request's ``_meta``, ``subscriptions/listen``). Tools: ``tools/list`` and ``tools/call``, whose
arguments are checked against each tool's input schema; a failing tool is a result with ``isError``, as the
spec asks, never a protocol error. ``notifications/cancelled`` cancels the request it names (no answer is sent
for it). Every other method is ``Method not found``.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

MODERN_VERSIONS = ("2026-07-28",)
HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")
_META = "io.modelcontextprotocol/"

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603


class ToolError(Exception):
    """A tool's failure, in words for the caller: it becomes the text of a result with ``isError``."""


class _ProtocolError(Exception):
    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code, self.message, self.data = code, message, data


@dataclass
class ToolResult:
    text: str
    structured: dict[str, Any] | None = None


@dataclass
class Tool:
    name: str
    description: str
    handler: Callable[..., Awaitable[ToolResult]]
    properties: dict[str, dict[str, Any]] = field(default_factory=dict)
    """JSON Schema of each argument; "string", and "params" (an array, an object or null) are checked."""
    required: tuple[str, ...] = ()
    annotations: dict[str, bool] = field(default_factory=dict)

    def listing(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object", "properties": self.properties}
        if self.required:
            schema["required"] = list(self.required)
        return {
            "name": self.name,
            "description": self.description,
            "inputSchema": schema,
            "annotations": self.annotations,
        }

    def check(self, arguments: Any) -> dict[str, Any]:
        """The arguments as the handler takes them, or ToolError naming what is wrong."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise ToolError(f"{self.name}: arguments must be an object, not {type(arguments).__name__}")
        for name in self.required:
            if name not in arguments:
                raise ToolError(f"{self.name}: the argument {name!r} is required")
        taken = {}
        for name, schema in self.properties.items():
            if name not in arguments:
                continue
            value = arguments[name]
            if schema.get("type") == "string" and not isinstance(value, str):
                raise ToolError(
                    f"{self.name}: the argument {name!r} must be a string, not {_json_type(value)}"
                )
            if "anyOf" in schema and not (value is None or isinstance(value, list | dict)):
                raise ToolError(
                    f"{self.name}: the argument {name!r} must be an array, an object or null, not {_json_type(value)}"
                )
            taken[name] = value
        return taken


def _json_type(value: Any) -> str:
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"), (int, "a number"), (float, "a number"), (str, "a string"), (list, "an array"),
        (dict, "an object"),
    )  # fmt: skip
    for kind, name in kinds:
        if isinstance(value, kind):
            return name
    return "null" if value is None else "a value"


class StdioServer:
    def __init__(self, name: str, version: str, instructions: str) -> None:
        self.name, self.version, self.instructions = name, version, instructions
        self.tools: dict[str, Tool] = {}
        self._in_flight: dict[Any, asyncio.Task[None]] = {}
        self._out: BinaryIO = sys.stdout.buffer
        self._write_lock = threading.Lock()

    def add_tool(self, tool: Tool) -> None:
        self.tools[tool.name] = tool

    # --- the stream ----------------------------------------------------------------------------------

    def run(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve until stdin ends."""
        asyncio.run(self.serve(stdin or sys.stdin.buffer, stdout or sys.stdout.buffer))

    async def serve(self, stdin: BinaryIO, stdout: BinaryIO) -> None:
        self._out = stdout
        loop = asyncio.get_running_loop()
        ended = asyncio.Event()

        def read() -> None:
            # A plain blocking read: the thread sleeps in the kernel until a line or the end comes.
            try:
                for line in stdin:
                    loop.call_soon_threadsafe(self._received, line)
            except (OSError, ValueError):
                pass
            loop.call_soon_threadsafe(ended.set)

        threading.Thread(target=read, name="stdin", daemon=True).start()
        await ended.wait()
        # The client has gone: stop what is still running (statements are interrupted) and leave.
        tasks = list(self._in_flight.values())
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=6)

    def _send(self, message: dict[str, Any]) -> None:
        data = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        with self._write_lock:
            try:
                self._out.write(data)
                self._out.flush()
            except (OSError, ValueError):
                pass  # the client has gone; the read side ends too

    def _error(self, request_id: Any, code: int, message: str, data: Any = None) -> None:
        error: dict[str, Any] = {"code": code, "message": message}
        if data is not None:
            error["data"] = data
        self._send({"jsonrpc": "2.0", "id": request_id, "error": error})

    def _received(self, line: bytes) -> None:
        if not line.strip():
            return
        try:
            message = json.loads(line)
        except ValueError as exc:
            self._error(None, PARSE_ERROR, f"Parse error: {exc}")
            return
        if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
            self._error(None, INVALID_REQUEST, "Invalid request: not a JSON-RPC 2.0 message")
            return
        method = message.get("method")
        if method is None:
            return  # a response: this server sends no requests, so none is awaited
        params = message.get("params")
        if params is not None and not isinstance(params, dict):
            if "id" in message:
                self._error(message["id"], INVALID_PARAMS, "params must be an object")
            return
        if "id" not in message:
            self._notified(method, params or {})
            return
        request_id = message["id"]
        if request_id in self._in_flight:
            self._error(request_id, INVALID_REQUEST, f"a request with id {request_id!r} is still in flight")
            return
        task = asyncio.get_running_loop().create_task(self._answer(request_id, str(method), params or {}))
        self._in_flight[request_id] = task

    def _notified(self, method: Any, params: dict[str, Any]) -> None:
        if method == "notifications/cancelled":
            task = self._in_flight.get(params.get("requestId"))
            if task is not None:
                task.cancel()

    async def _answer(self, request_id: Any, method: str, params: dict[str, Any]) -> None:
        try:
            meta = params.get("_meta")
            modern = isinstance(meta, dict) and meta.get(_META + "protocolVersion") in MODERN_VERSIONS
            if method == "subscriptions/listen" and modern:
                await self._listen(request_id)
                return
            result = await self._result(method, params)
            if modern:
                result = {**result, "resultType": "complete", "_meta": self._server_meta()}
            self._send({"jsonrpc": "2.0", "id": request_id, "result": result})
        except asyncio.CancelledError:
            pass  # cancelled by the client, which expects no answer, or at the end of the stream
        except _ProtocolError as exc:
            self._error(request_id, exc.code, exc.message, exc.data)
        except Exception as exc:
            self._error(request_id, INTERNAL_ERROR, f"{type(exc).__name__}: {exc}")
        finally:
            self._in_flight.pop(request_id, None)

    def _server_meta(self) -> dict[str, Any]:
        return {_META + "serverInfo": {"name": self.name, "version": self.version}}

    def _capabilities(self) -> dict[str, Any]:
        return {"tools": {"listChanged": False}}

    async def _result(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            asked = params.get("protocolVersion")
            version = asked if asked in HANDSHAKE_VERSIONS else HANDSHAKE_VERSIONS[0]
            return {
                "protocolVersion": version,
                "capabilities": self._capabilities(),
                "serverInfo": {"name": self.name, "version": self.version},
                "instructions": self.instructions,
            }
        if method == "server/discover":
            return {
                "supportedVersions": list(MODERN_VERSIONS),
                "capabilities": self._capabilities(),
                "instructions": self.instructions,
                "cacheScope": "private",
                "ttlMs": 0,
            }
        if method == "ping":
            return {}
        if method == "tools/list":
            return {
                "tools": [tool.listing() for tool in self.tools.values()],
                "cacheScope": "private",
                "ttlMs": 0,
            }
        if method == "tools/call":
            return await self._call(params)
        raise _ProtocolError(METHOD_NOT_FOUND, "Method not found", method)

    async def _call(self, params: dict[str, Any]) -> dict[str, Any]:
        name = params.get("name")
        if not isinstance(name, str):
            raise _ProtocolError(INVALID_PARAMS, "tools/call needs the tool's name")
        tool = self.tools.get(name)
        try:
            if tool is None:
                raise ToolError(f"Unknown tool: {name}")
            outcome = await tool.handler(**tool.check(params.get("arguments")))
        except ToolError as exc:
            return {"content": [{"type": "text", "text": str(exc)}], "isError": True}
        except (asyncio.CancelledError, _ProtocolError):
            raise
        except Exception as exc:
            return {
                "content": [{"type": "text", "text": f"Error executing tool {name}: {exc}"}],
                "isError": True,
            }
        result: dict[str, Any] = {"content": [{"type": "text", "text": outcome.text}], "isError": False}
        if outcome.structured is not None:
            result["structuredContent"] = outcome.structured
        return result

    async def _listen(self, request_id: Any) -> None:
        """A 2026-era change stream: acknowledged with nothing to deliver (the tools never change), held open
        until the client cancels it or goes, then closed with an empty result."""
        self._send(
            {
                "jsonrpc": "2.0",
                "method": "notifications/subscriptions/acknowledged",
                "params": {"_meta": {_META + "subscriptionId": request_id}, "notifications": {}},
            }
        )
        await asyncio.Event().wait()  # until cancelled
