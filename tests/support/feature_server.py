"""An MCP server with one of everything besides tools, for the host's tests of resources, prompts, progress,
cancellation, logging, sampling, roots and list changes.

    python -m tests.support.feature_server stdio
    python -m tests.support.feature_server http PORT      (streamable HTTP at /mcp)
    python -m tests.support.feature_server sse PORT       (legacy SSE at /sse)

FEATURE_ERA=legacy makes it a handshake-era server (2025-11-25 and earlier): it refuses ``server/discover``, so
clients fall back to ``initialize``, and it serves ``resources/subscribe`` and ``logging/setLevel`` and sends
change notifications, as Notion's server and most in the wild do. Otherwise it speaks 2026-07-28, where changes
travel over ``subscriptions/listen`` and log messages go only with requests that ask for them.

FEATURE_LOG names a file where the server notes what it saw, one line each: ``cancelled <tag>`` when a
``slow`` call was cancelled, ``finished <tag>`` when one ran to its end, ``level <level>`` for each
``logging/setLevel``, ``subscribe <uri>`` and ``unsubscribe <uri>``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from typing import Annotated, Any

import anyio
import mcp_types as types
from mcp.server import MCPServer
from mcp.server.mcpserver import Context, ListRoots, Resolve, Sample
from mcp.server.mcpserver.prompts.base import Message, UserMessage
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

LEGACY = os.environ.get("FEATURE_ERA") == "legacy"
LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
#: A one-pixel PNG, red.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
TOPICS = ["apples", "apricots", "bananas", "cherries"]
STYLES = ["brief", "bulleted", "formal"]

server = MCPServer("features", version="2.0", instructions="A server for the bridge's feature tests.")
counter = {"value": 0}
subscribed: set[str] = set()
#: The level a handshake-era client asked for (logging/setLevel); 2026-era requests carry their own.
min_level = {"level": "debug"}


def note(line: str) -> None:
    path = os.environ.get("FEATURE_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


# --- resources -------------------------------------------------------------------------------------------


@server.resource("feature://static/readme.md", name="readme", title="Read me", mime_type="text/markdown")
def readme() -> str:
    return "# Features\n\nA **static** resource in Markdown.\n"


@server.resource("feature://static/config.json", name="config", mime_type="application/json")
def config() -> str:
    return json.dumps({"colour": "blue", "sizes": [1, 2, 3]})


@server.resource("feature://static/pixel.png", name="pixel", mime_type="image/png")
def pixel() -> bytes:
    return PIXEL


@server.resource("feature://static/data.bin", name="data", mime_type="application/octet-stream")
def data() -> bytes:
    return bytes(range(256)) * 4


@server.resource("feature://counter", name="counter", mime_type="text/plain")
def counter_value() -> str:
    return f"count {counter['value']}"


@server.resource("feature://notes/{topic}", name="note", title="A note about a topic", mime_type="text/plain")
def note_about(topic: str) -> str:
    return f"A note about {topic}."


# --- prompts ----------------------------------------------------------------------------------------------


@server.prompt(title="Summarise a text")
def summarize(text: str, style: str = "brief") -> list[Message]:
    """Summarise the text in a given style."""
    return [UserMessage(f"Summarise this in a {style} style:\n\n{text}")]


@server.prompt()
def greet(name: str) -> str:
    """Greet someone by name."""
    return f"Say hello to {name}."


@server.completion()
async def complete(ref: Any, argument: types.CompletionArgument, context: Any) -> types.Completion | None:
    if isinstance(ref, types.ResourceTemplateReference) and argument.name == "topic":
        values = [t for t in TOPICS if t.startswith(argument.value)]
        return types.Completion(values=values, total=len(values), has_more=False)
    if isinstance(ref, types.PromptReference) and ref.name == "summarize" and argument.name == "style":
        return types.Completion(values=[s for s in STYLES if s.startswith(argument.value)])
    return None


# --- tools that report, log, sample and change things ---------------------------------------------------------


@server.tool()
async def steps(ctx: Context, count: int = 10, seconds: float = 3.0) -> str:
    """Work for ``seconds``, reporting progress ``count`` times."""
    for i in range(1, count + 1):
        await asyncio.sleep(seconds / count)
        await ctx.report_progress(i, count, f"step {i} of {count}")
    return f"done {count} steps"


@server.tool()
async def slow(tag: str, seconds: float = 30.0) -> str:
    """Wait ``seconds``; a cancelled call is noted in FEATURE_LOG."""
    try:
        await asyncio.sleep(seconds)
    except BaseException as exc:
        if isinstance(exc, anyio.get_cancelled_exc_class()):
            note(f"cancelled {tag}")
        raise
    note(f"finished {tag}")
    return f"slept {seconds}"


@server.tool()
async def log_all(ctx: Context, text: str = "message") -> str:
    """Send one log message at each level."""
    session = ctx.request_context.session
    for level in LEVELS:
        if LEGACY and LEVELS.index(level) < LEVELS.index(min_level["level"]):
            continue  # a handshake-era server filters by the level it was given
        await session.send_log_message(
            level=level,  # type: ignore[arg-type]
            data=f"{text} at {level}",
            logger="features",
            related_request_id=ctx.request_id,
        )
    return "logged"


def sample_for(question: str, max_tokens: int) -> Sample:
    return Sample(
        [types.SamplingMessage(role="user", content=types.TextContent(type="text", text=question))],
        max_tokens=max_tokens,
        system_prompt="Answer in one short sentence.",
        model_preferences=types.ModelPreferences(
            hints=[types.ModelHint(name="small")], speed_priority=0.8, intelligence_priority=0.2
        ),
    )


@server.tool()
async def ask_model(
    question: str,
    answer: Annotated[types.CreateMessageResult, Resolve(sample_for)],
    max_tokens: int = 100,
) -> str:
    """Ask the client's model (sampling) and return its answer."""
    content = answer.content
    text = content.text if isinstance(content, types.TextContent) else str(content)
    return f"the model said: {text}"


def the_roots() -> ListRoots:
    return ListRoots()


@server.tool()
async def list_roots(roots: Annotated[types.ListRootsResult, Resolve(the_roots)]) -> str:
    """The client's roots, as URIs, one per line."""
    return "\n".join(str(root.uri) for root in roots.roots) or "(no roots)"


@server.tool()
async def bump(ctx: Context) -> str:
    """Change ``feature://counter`` and tell subscribers."""
    counter["value"] += 1
    if LEGACY:
        if "feature://counter" in subscribed:
            await ctx.request_context.session.send_resource_updated("feature://counter")
    else:
        await ctx.notify_resource_updated("feature://counter")
    return f"count {counter['value']}"


@server.tool()
async def grow(ctx: Context, kind: str, name: str) -> str:
    """Add a tool, resource or prompt called ``name`` and tell the client its list changed."""
    session = ctx.request_context.session
    if kind == "tool":

        def added() -> str:
            return name

        server.add_tool(added, name=name, description="added at run time")
        await (session.send_tool_list_changed() if LEGACY else ctx.notify_tools_changed())
    elif kind == "resource":

        @server.resource(f"feature://added/{name}", name=name, mime_type="text/plain")
        def added_resource() -> str:
            return f"added {name}"

        await (session.send_resource_list_changed() if LEGACY else ctx.notify_resources_changed())
    elif kind == "prompt":

        @server.prompt(name=name)
        def added_prompt() -> str:
            return f"added {name}"

        await (session.send_prompt_list_changed() if LEGACY else ctx.notify_prompts_changed())
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return f"added {kind} {name}"


@server.tool()
async def header(ctx: Context, name: str) -> str:
    """The value of an HTTP request header the server received, or "(none)"."""
    return (ctx.headers or {}).get(name.lower()) or "(none)"


@server.tool()
async def client(ctx: Context) -> str:
    """How the client named itself: ``name version`` (from initialize, or a 2026 request's _meta)."""
    params = ctx.request_context.session.client_params
    if params is not None:
        return f"{params.client_info.name} {params.client_info.version}"
    info = (ctx.request_context.meta or {}).get(types.CLIENT_INFO_META_KEY) or {}
    return f"{info.get('name')} {info.get('version')}"


# --- the handshake era ---------------------------------------------------------------------------------------


def make_legacy() -> None:
    """Serve every connection in the handshake era, as a 2025 server would (the SDK's servers decide the era
    from the client's first request; here the 2026 envelope never counts), and serve the handshake-era
    requests that 2026 removed."""
    from mcp.server import runner

    runner._has_modern_envelope = lambda params: False  # type: ignore[attr-defined]
    lowlevel = server._lowlevel_server

    async def set_level(ctx: Any, params: types.SetLevelRequestParams) -> types.EmptyResult:
        note(f"level {params.level}")
        min_level["level"] = params.level
        return types.EmptyResult()

    async def subscribe(ctx: Any, params: types.SubscribeRequestParams) -> types.EmptyResult:
        subscribed.add(str(params.uri))
        note(f"subscribe {params.uri}")
        return types.EmptyResult()

    async def unsubscribe(ctx: Any, params: types.UnsubscribeRequestParams) -> types.EmptyResult:
        subscribed.discard(str(params.uri))
        note(f"unsubscribe {params.uri}")
        return types.EmptyResult()

    lowlevel.add_request_handler("logging/setLevel", types.SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("resources/subscribe", types.SubscribeRequestParams, subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", types.UnsubscribeRequestParams, unsubscribe)


def handshake_era_only(app: Any) -> Any:
    """HTTP requests stamped with a 2026 protocol version get what a 2025 server answers: an unknown method."""

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            version = dict(scope["headers"]).get(b"mcp-protocol-version", b"").decode("latin-1")
            if version and version not in HANDSHAKE_PROTOCOL_VERSIONS:
                body = json.dumps(
                    {"jsonrpc": "2.0", "id": None, "error": {"code": -32601, "message": "Method not found"}}
                ).encode()
                headers = [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ]
                await send({"type": "http.response.start", "status": 400, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return
        await app(scope, receive, send)

    return guarded


def main() -> None:
    mode = sys.argv[1]
    if LEGACY:
        make_legacy()
    if mode == "stdio":
        server.run("stdio")
    elif mode == "http" and LEGACY:
        import uvicorn

        app = handshake_era_only(server.streamable_http_app())
        uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
    elif mode == "http":
        server.run("streamable-http", port=int(sys.argv[2]))
    elif mode == "sse":
        server.run("sse", port=int(sys.argv[2]))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
