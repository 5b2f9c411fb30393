"""A local MCP server shaped like Notion's hosted one: same tool names and argument shapes, same OAuth.

One Starlette app on one port serves streamable HTTP at ``/mcp``, legacy SSE at ``/sse`` (+ ``/messages/``),
the authorization server, the consent page, and ``/_admin/`` knobs for tests:

    POST /_admin/token-lifetime   {"seconds": 2}          access-token lifetime for tokens issued from now on
    POST /_admin/revoke-all       {}                      every access and refresh token stops working
    POST /_admin/expire-access    {}                      every access token expires now (refresh still works)
    POST /_admin/forget-clients   {}                      registrations gone: next use gives invalid_client
    POST /_admin/slow             {"ms": 500}             each tool call waits this long first
    POST /_admin/rate-limit       {"calls": 3, "retry_after_seconds": 1}   the next N calls are rate-limited
    POST /_admin/large-page       {"mib": 10}             adds a page of that size; answers its id
    POST /_admin/auto-approve     {"on": true}            /authorize approves without the consent page
    POST /_admin/token-delay      {"ms": 30000, "when": "before"|"after"}   hold refresh answers (ms 0 releases)
    POST /_admin/refresh-rotation {"mode": "notion"|"strict"}   how refresh tokens rotate (see dev_notion.oauth)
    POST /_admin/discovery-delay  {"ms": 2000}            hold /.well-known/ answers (a slow sign-in start)
    POST /_admin/token-fail       {"status": 503, "error": "temporarily_unavailable", "times": 3}
                                  the next N refresh requests fail, unseen (no rotation): with that status and
                                  OAuth error body (no "error": a bare 5xx page), or {"drop": true, "times": N}
                                  cuts the connection mid-answer
    GET  /_admin/stats                                    counters: OAuth events and calls per tool
    GET  /_admin/pages?title=…                            pages whose title contains the text
    GET  /_admin/issued-tokens                            every token value issued (to scan for leaks)
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from dev_notion.oauth import DevAuthProvider
from dev_notion.workspace import Workspace, WorkspaceError

READ = ToolAnnotations(read_only_hint=True, open_world_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False)
EDIT = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)


@dataclass
class Knobs:
    slow_ms: int = 0
    discovery_delay_ms: int = 0
    rate_limited_calls: int = 0
    retry_after_seconds: float = 1.0
    calls: Counter[str] = field(default_factory=Counter)


def _text(text: str, structured: dict[str, Any] | None = None) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=structured)


def build_app(
    *,
    host: str = "127.0.0.1",
    port: int,
    auth: bool = True,
    workspace_name: str = "Acme Corp",
    token_lifetime_s: int = 3600,
    auto_approve: bool = False,
    large_page_mib: float = 0,
) -> Starlette:
    base_url = f"http://{host}:{port}"
    workspace = Workspace(workspace_name)
    if large_page_mib:
        workspace.add_large_page(large_page_mib)
    knobs = Knobs()
    provider = DevAuthProvider(
        base_url=base_url,
        workspace_name=workspace_name,
        workspace_id=workspace.id,
        token_lifetime_s=token_lifetime_s,
        auto_approve=auto_approve,
    )
    settings = (
        AuthSettings(
            issuer_url=base_url,  # type: ignore[arg-type]
            resource_server_url=f"{base_url}/mcp",  # type: ignore[arg-type]
            client_registration_options=ClientRegistrationOptions(enabled=True),
            revocation_options=RevocationOptions(enabled=True),
        )
        if auth
        else None
    )
    server: MCPServer[Any] = MCPServer(
        "Notion",
        version="1.0.0-dev",
        instructions=f"A Notion-compatible workspace named {workspace_name} for development and tests.",
        auth_server_provider=provider if auth else None,
        auth=settings,
        log_level="WARNING",
    )

    async def before_call(tool: str, detail: str = "") -> CallToolResult | None:
        knobs.calls[tool] += 1
        _append_to_call_log(tool, detail)
        if knobs.slow_ms:
            await asyncio.sleep(knobs.slow_ms / 1000)
        if knobs.rate_limited_calls > 0:
            knobs.rate_limited_calls -= 1
            message = f"Rate limited. Retry after {knobs.retry_after_seconds:g} seconds."
            return CallToolResult(
                content=[TextContent(type="text", text=message)],
                structured_content={
                    "error": {
                        "code": "rate_limited",
                        "message": message,
                        "retry_after_seconds": knobs.retry_after_seconds,
                    }
                },
                is_error=True,
            )
        return None

    def guard(fn: Any) -> Any:
        """Turn workspace errors into tool errors that name the cause."""
        try:
            return fn()
        except WorkspaceError as exc:
            raise ToolError(str(exc)) from None

    @server.tool(name="notion-search", annotations=READ)
    async def search(
        query: str, query_type: str = "internal", filters: dict[str, Any] | None = None, page_size: int = 10
    ) -> CallToolResult:
        """Search the workspace's pages and databases by title and content."""
        if (limited := await before_call("notion-search", query)) is not None:
            return limited
        results = workspace.search(query, page_size)
        lines = [f"- {r['title']} ({r['object']}, id {r['id']})" for r in results] or ["No results."]
        return _text("\n".join(lines), {"results": results, "type": query_type})

    @server.tool(name="notion-fetch", annotations=READ)
    async def fetch(id: str) -> CallToolResult:
        """Fetch a page (as Markdown) or a database (schema and rows) by URL or id."""
        if (limited := await before_call("notion-fetch")) is not None:
            return limited
        return _text(guard(lambda: workspace.fetch(id)))

    @server.tool(name="notion-create-pages", annotations=WRITE)
    async def create_pages(parent: dict[str, str], pages: list[dict[str, Any]]) -> CallToolResult:
        """Create pages under a page, or as rows of a database (parent: page_id | database_id | data_source_id).
        Each page has properties and optional Markdown content."""
        if (limited := await before_call("notion-create-pages")) is not None:
            return limited
        created = [
            guard(
                lambda p=page: workspace.create_page(
                    parent, p.get("properties") or {}, p.get("content") or ""
                )
            )
            for page in pages
        ]
        listed = [{"id": p.id, "url": p.url, "title": p.title} for p in created]
        return _text("\n".join(f"Created {p['title']} ({p['url']})" for p in listed), {"pages": listed})

    @server.tool(name="notion-update-page", annotations=EDIT)
    async def update_page(
        page_id: str,
        command: str,
        properties: dict[str, Any] | None = None,
        new_str: str | None = None,
        selection_with_ellipsis: str | None = None,
    ) -> CallToolResult:
        """Change a page: command update_properties, replace_content or insert_content_after."""
        if (limited := await before_call("notion-update-page")) is not None:
            return limited
        page = guard(
            lambda: workspace.update_page(page_id, command, properties, new_str, selection_with_ellipsis)
        )
        return _text(f"Updated {page.title}", {"id": page.id, "url": page.url})

    @server.tool(name="notion-create-comment", annotations=WRITE)
    async def create_comment(page_id: str, rich_text: list[dict[str, Any]]) -> CallToolResult:
        """Add a comment to a page."""
        if (limited := await before_call("notion-create-comment")) is not None:
            return limited
        text = "".join(str((part.get("text") or {}).get("content", "")) for part in rich_text)
        comment = guard(lambda: workspace.add_comment(page_id, text))
        return _text(f"Commented on {comment.page_id}", {"id": comment.id})

    @server.tool(name="notion-get-comments", annotations=READ)
    async def get_comments(page_id: str) -> CallToolResult:
        """The comments on a page."""
        if (limited := await before_call("notion-get-comments")) is not None:
            return limited
        page = guard(lambda: workspace.page(page_id))
        comments = [
            {"id": c.id, "author": workspace.users[c.author_id].name, "text": c.text}
            for c in workspace.comments
            if c.page_id == page.id
        ]
        return _text(
            "\n".join(f"{c['author']}: {c['text']}" for c in comments) or "No comments.",
            {"comments": comments},
        )

    @server.tool(name="notion-get-users", annotations=READ)
    async def get_users() -> CallToolResult:
        """The people in the workspace."""
        if (limited := await before_call("notion-get-users")) is not None:
            return limited
        users = [{"id": u.id, "name": u.name, "email": u.email} for u in workspace.users.values()]
        return _text("\n".join(f"{u['name']} <{u['email']}>" for u in users), {"users": users})

    @server.tool(name="notion-query-data-sources", annotations=READ)
    async def query_data_sources(
        data_source_id: str,
        filter: dict[str, Any] | None = None,
        sorts: list[dict[str, Any]] | None = None,
        page_size: int = 100,
    ) -> CallToolResult:
        """Query a database's rows with a Notion filter (property + condition, and/or) and sorts."""
        if (limited := await before_call("notion-query-data-sources")) is not None:
            return limited
        rows = guard(lambda: workspace.query(data_source_id, filter, sorts, page_size))
        text = "\n".join(json.dumps(row["properties"], ensure_ascii=False) for row in rows) or "No rows."
        return _text(text, {"rows": rows, "row_count": len(rows)})

    async def admin(request: Request) -> Response:
        name = request.path_params["name"]
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else {}
        if name == "stats":
            return JSONResponse(
                {
                    "oauth": provider.stats.as_dict(),
                    "tokens": provider.token_counts(),
                    "token_endpoint": {
                        **provider.hold.as_dict(),
                        "failed": provider.failure.failed,
                        "failing": provider.failure.times,
                    },
                    "calls": dict(knobs.calls),
                }
            )
        if name == "issued-tokens":
            return JSONResponse({"tokens": provider.issued})
        if name == "pages":
            needle = request.query_params.get("title", "").lower()
            pages = [
                {"id": p.id, "title": p.title, "parent": p.parent, "content": p.content[:2000]}
                for p in workspace.pages.values()
                if needle in p.title.lower()
            ]
            return JSONResponse({"pages": pages})
        if name == "token-lifetime":
            provider.token_lifetime_s = int(body["seconds"])
        elif name == "revoke-all":
            provider.revoke_everything()
        elif name == "expire-access":
            provider.expire_access_tokens()
        elif name == "forget-clients":
            provider.forget_clients()
        elif name == "slow":
            knobs.slow_ms = int(body.get("ms", 0))
        elif name == "discovery-delay":
            knobs.discovery_delay_ms = int(body.get("ms", 0))
        elif name == "rate-limit":
            knobs.rate_limited_calls = int(body.get("calls", 1))
            knobs.retry_after_seconds = float(body.get("retry_after_seconds", 1))
        elif name == "large-page":
            page = workspace.add_large_page(float(body["mib"]))
            return JSONResponse({"id": page.id})
        elif name == "auto-approve":
            provider.auto_approve = bool(body.get("on", True))
        elif name == "token-delay":
            provider.hold.set(int(body.get("ms", 0)), str(body.get("when", "before")))
        elif name == "token-fail":
            provider.failure.set(
                int(body.get("status", 503)),
                body.get("error"),
                int(body.get("times", 1)),
                bool(body.get("drop")),
            )
        elif name == "refresh-rotation":
            if body.get("mode") not in ("notion", "strict"):
                return JSONResponse({"error": "mode must be 'notion' or 'strict'"}, status_code=400)
            provider.rotation = body["mode"]
        else:
            return JSONResponse({"error": f"unknown knob {name!r}"}, status_code=404)
        return JSONResponse({"ok": True})

    app = server.streamable_http_app(host=host)
    sse = server.sse_app(host=host)
    # One app, both transports: take the SSE endpoints from the SDK's SSE app (auth wrappers included).
    app.router.routes.extend(
        r for r in sse.routes if isinstance(r, Route | Mount) and r.path in ("/sse", "/messages")
    )
    app.router.routes.extend(
        [
            Route("/consent", provider.consent_page, methods=["GET"]),
            Route("/consent", provider.consent_answer, methods=["POST"]),
            Route("/_admin/{name}", admin, methods=["GET", "POST"]),
        ]
    )
    app.state.workspace = workspace
    app.state.provider = provider
    app.add_middleware(_PublicClientRevocation)
    app.add_middleware(_TokenEndpoint, provider=provider)
    app.add_middleware(_SlowDiscovery, knobs=knobs)
    return app


def _replaying(body: bytes, receive: Any) -> Any:
    """An ASGI receive that hands the app a body already read, then passes on whatever comes next."""
    delivered = False

    async def replay() -> Any:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _read_body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


class _TokenEndpoint:
    """Wraps ``/token``: counts its refusals (``DevAuthProvider.note_token_answer``) and implements the
    ``token-delay`` knob at the HTTP level, so that it means what it says to the client: its refresh request
    is in flight and unanswered. See ``TokenEndpointHold`` for the two places it can be held."""

    def __init__(self, app: Any, provider: DevAuthProvider) -> None:
        self.app = app
        self.provider = provider

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/token" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        replay = _replaying(body, receive)

        failure = self.provider.failure
        if failure.times > 0 and form.get("grant_type") == "refresh_token":
            failure.times -= 1
            failure.failed += 1
            await _fail(failure, send)
            return
        hold = self.provider.hold
        ms, when, release = hold.ms, hold.when, hold.release
        held = ms > 0 and form.get("grant_type") == "refresh_token"
        if held and when == "before":
            hold.waiting_before += 1
            try:
                gone = await _wait(release, ms, disconnect=receive)
            finally:
                hold.waiting_before -= 1
            if gone:
                return  # the client left before the server looked at its request: nothing was rotated
        answer: list[Any] = []

        async def keep(message: Any) -> None:
            answer.append(message)

        await self.app(scope, replay, keep)
        status = next((m["status"] for m in answer if m["type"] == "http.response.start"), 500)
        self.provider.note_token_answer(
            form, status, b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
        )
        if held and when == "after":
            # Rotated now; the client just does not know it yet.
            hold.holding_after += 1
            try:
                await _wait(release, ms)
            finally:
                hold.holding_after -= 1
        try:
            for message in answer:
                await send(message)
        except Exception:
            pass  # the client is gone, which is what the knob is for


class _CutConnection(Exception):
    """Raised after half an answer: the HTTP server then closes the connection, as a network failure would."""


async def _fail(failure: Any, send: Any) -> None:
    if failure.drop:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"200")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"access_token": "', "more_body": True})
        raise _CutConnection("token-fail knob: connection cut mid-answer")
    if failure.error:
        body = json.dumps({"error": failure.error, "error_description": "token-fail knob"}).encode()
        content_type = b"application/json"
    else:
        body, content_type = b"<html><body>Bad gateway</body></html>", b"text/html"
    headers = [(b"content-type", content_type), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": failure.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _wait(release: asyncio.Event, ms: int, disconnect: Any = None) -> bool:
    """Wait until released or ``ms`` pass; True when the client disconnected first."""
    waits = {asyncio.ensure_future(release.wait())}
    gone = None
    if disconnect is not None:
        gone = asyncio.ensure_future(disconnect())
        waits.add(gone)
    done, pending = await asyncio.wait(waits, timeout=ms / 1000, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    return gone is not None and gone in done and gone.result().get("type") == "http.disconnect"


class _SlowDiscovery:
    """The ``discovery-delay`` knob: metadata answers wait, so a test can act while a sign-in is starting."""

    def __init__(self, app: Any, knobs: Knobs) -> None:
        self.app = app
        self.knobs = knobs

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/.well-known/")
            and self.knobs.discovery_delay_ms
        ):
            await asyncio.sleep(self.knobs.discovery_delay_ms / 1000)
        await self.app(scope, receive, send)


class _PublicClientRevocation:
    """The SDK's revocation handler declares ``client_secret`` as a required field, so a public client that
    (correctly, per RFC 7009) sends none gets 400. Notion accepts such requests; so does this server."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"] != "/revoke" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if b"client_secret=" not in body:
            body += b"&client_secret="
        replay = _replaying(body, receive)

        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await self.app({**scope, "headers": headers}, replay, send)


def _append_to_call_log(tool: str, detail: str) -> None:
    # Fault-injection tests kill and restart this server and must prove no call ran twice, so every call is
    # recorded, as it arrives, in a file that outlives the process (DEV_NOTION_CALL_LOG names it).
    path = os.environ.get("DEV_NOTION_CALL_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{time.time():.6f}\t{tool}\t{detail}\n")
