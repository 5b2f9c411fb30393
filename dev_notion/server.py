"""A local MCP server shaped like Notion's hosted one: the same tools (names, descriptions, inputSchemas,
annotations), the same answers, the same refusals, the same resources, and the same OAuth.

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
    POST /_admin/tool-access      {"query_data_sources": "available"|"available_with_limit"|"plan_required"|"off",
                                   "sql_calls": 3}        what the workspace's plan allows (see dev_notion.tools.Access);
                                                          "off" takes the query tools out of tools/list
    GET  /_admin/stats                                    counters: OAuth events and calls per tool
    GET  /_admin/pages?title=…                            pages whose title contains the text
    GET  /_admin/issued-tokens                            every token value issued (to scan for leaks)
    GET  /_admin/redirect-checks                          strict mode: redirect URIs registered and refused
    POST /_admin/call             {"tool": …, "arguments": {…}}   a tool's answer without signing in or counting it
                                                          (tests check what happened through the tools' own eyes)

Tool arguments are checked against the tool's inputSchema before anything runs, and a call that fails the check
is answered the way the hosted server (the TypeScript SDK's McpServer) answers it: an error result saying
``MCP error -32602: Input validation error: Invalid arguments for tool <name>: [issues]``. Notion's own refusals
(an unknown property, a page not found) are error results carrying ``{"code", "message"}``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

import jsonschema
from mcp.server import MCPServer
from mcp.server.auth.settings import AuthSettings, ClientRegistrationOptions, RevocationOptions
from mcp.server.mcpserver.resources import TextResource
from mcp_types import CallToolResult, TextContent, Tool, ToolAnnotations
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route

from dev_notion.model import NotionError
from dev_notion.oauth import DevAuthProvider, RedirectChecks, StrictRedirects
from dev_notion.tools import ACCESS_LEVELS, HANDLERS, Access, Call, as_text
from dev_notion.workspace import Workspace

SCOPES = ["default"]
QUERY_TOOLS = {"notion-query-data-sources", "notion-query-multiple-data-sources"}


def catalogue() -> dict[str, Any]:
    """The tools and resources this server offers (dev_notion/catalogue.json)."""
    return json.loads(resources.files("dev_notion").joinpath("catalogue.json").read_text(encoding="utf-8"))


def documents() -> dict[str, str]:
    folder = resources.files("dev_notion").joinpath("docs")
    return {
        f"notion://docs/{name}": folder.joinpath(f"{name}.md").read_text(encoding="utf-8")
        for name in ("enhanced-markdown-spec", "view-dsl-spec")
    }


@dataclass
class Knobs:
    slow_ms: int = 0
    discovery_delay_ms: int = 0
    rate_limited_calls: int = 0
    retry_after_seconds: float = 1.0
    calls: Counter[str] = field(default_factory=Counter)
    access: Access = field(default_factory=Access)


def _text(text: str, structured: dict[str, Any] | None = None, error: bool = False) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured, is_error=error
    )


_ZOD_CODES = {
    "type": "invalid_type", "required": "invalid_type", "enum": "invalid_value", "const": "invalid_value",
    "additionalProperties": "unrecognized_keys", "anyOf": "invalid_union", "oneOf": "invalid_union",
    "minimum": "too_small", "minItems": "too_small", "minLength": "too_small",
    "maximum": "too_big", "maxItems": "too_big", "maxLength": "too_big", "pattern": "invalid_format",
}  # fmt: skip


def validation_failure(tool: str, errors: list[jsonschema.ValidationError]) -> str:
    issues = []
    for error in errors:
        path = list(error.absolute_path)
        if error.validator == "required" and isinstance(error.instance, dict):
            missing = next((k for k in error.validator_value if k not in error.instance), None)
            if missing is not None:
                path.append(missing)
        issues.append(
            {"code": _ZOD_CODES.get(str(error.validator), "custom"), "path": path, "message": error.message}
        )
    return f"MCP error -32602: Input validation error: Invalid arguments for tool {tool}: " + json.dumps(
        issues, indent=2, ensure_ascii=False
    )


class NotionDouble(MCPServer[Any]):
    """MCPServer with Notion's catalogue instead of tools derived from Python functions."""

    def __init__(self, workspace: Workspace, knobs: Knobs, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.workspace = workspace
        self.knobs = knobs
        offered = catalogue()
        self.tool_specs = {t["name"]: t for t in offered["tools"]}
        self.validators = {
            name: jsonschema.Draft202012Validator(spec["inputSchema"], format_checker=None)
            for name, spec in self.tool_specs.items()
        }
        self.docs = documents()
        for entry in offered["resources"]:
            self.add_resource(
                TextResource(
                    uri=entry["uri"],
                    name=entry["name"],
                    mime_type=entry["mimeType"],
                    text=self.docs[entry["uri"]],
                )
            )

    def offered(self) -> list[str]:
        names = list(self.tool_specs)
        if self.knobs.access.query_data_sources == "off":
            names = [n for n in names if n not in QUERY_TOOLS]
        return names

    async def list_tools(self) -> list[Tool]:
        found = []
        for name in self.offered():
            spec = self.tool_specs[name]
            hints = spec["annotations"]
            found.append(
                Tool(
                    name=name,
                    title=spec["title"],
                    description=spec["description"],
                    input_schema=spec["inputSchema"],
                    annotations=ToolAnnotations(
                        read_only_hint=hints["readOnlyHint"],
                        destructive_hint=hints["destructiveHint"],
                        idempotent_hint=hints["idempotentHint"],
                        open_world_hint=hints["openWorldHint"],
                    ),
                )
            )
        return found

    def _tool_input_schema(self, name: str) -> dict[str, Any] | None:
        spec = self.tool_specs.get(name)
        return spec["inputSchema"] if spec else None

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> CallToolResult:
        if name not in self.offered():
            return _text(f"MCP error -32602: Tool {name} not found", error=True)
        knobs = self.knobs
        knobs.calls[name] += 1
        _append_to_call_log(name, str(arguments.get("query", "")) if isinstance(arguments, dict) else "")
        if knobs.slow_ms:
            await asyncio.sleep(knobs.slow_ms / 1000)
        if knobs.rate_limited_calls > 0:
            knobs.rate_limited_calls -= 1
            message = f"Rate limited. Retry after {knobs.retry_after_seconds:g} seconds."
            error = {
                "code": "rate_limited",
                "message": message,
                "retry_after_seconds": knobs.retry_after_seconds,
            }
            return _text(message, {"error": error}, error=True)
        return self.carry_out(name, arguments)

    def carry_out(self, name: str, arguments: dict[str, Any]) -> CallToolResult:
        """A call once it is let through: checked against the tool's inputSchema, then done."""
        knobs = self.knobs
        errors = sorted(self.validators[name].iter_errors(arguments), key=lambda e: list(e.absolute_path))
        if errors:
            return _text(validation_failure(name, errors), error=True)
        call = Call(self.workspace, knobs.access, self.docs)
        try:
            answer = HANDLERS[name](call, arguments)
        except NotionError as exc:
            return _text(json.dumps(exc.payload(), ensure_ascii=False), error=True)
        return _text(as_text(answer))


def build_app(
    *,
    host: str = "127.0.0.1",
    port: int,
    auth: bool = True,
    workspace_name: str = "Acme Corp",
    workspace_icon: str | None = "🏢",
    token_lifetime_s: int = 3600,
    auto_approve: bool = False,
    large_page_mib: float = 0,
    strict_redirects: bool = False,
    query_data_sources: str = "available",
) -> Starlette:
    base_url = f"http://{host}:{port}"
    workspace = Workspace(workspace_name, workspace_icon)
    if large_page_mib:
        add_large_page(workspace, large_page_mib)
    if query_data_sources not in ACCESS_LEVELS:
        raise ValueError(f"query_data_sources must be one of {', '.join(ACCESS_LEVELS)}")
    knobs = Knobs(access=Access(query_data_sources=query_data_sources))
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
            client_registration_options=ClientRegistrationOptions(
                enabled=True, valid_scopes=SCOPES, default_scopes=SCOPES
            ),
            revocation_options=RevocationOptions(enabled=True),
            required_scopes=SCOPES,
        )
        if auth
        else None
    )
    server = NotionDouble(
        workspace,
        knobs,
        name="Notion",
        version="1.0.0-dev",
        instructions=f"A Notion-compatible workspace named {workspace_name} for development and tests.",
        auth_server_provider=provider if auth else None,
        auth=settings,
        log_level="WARNING",
    )

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
        if name == "redirect-checks":
            return JSONResponse(strict.report() if strict is not None else {"strict": False})
        if name == "pages":
            needle = request.query_params.get("title", "").lower()
            pages = [
                {
                    "id": p.id,
                    "url": p.url,
                    "title": p.title,
                    "parent": {"type": p.parent[0], "id": p.parent[1]},
                    "content": p.content[:2000],
                    "properties": workspace.property_values(p),
                    "in_trash": p.in_trash,
                }
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
            page = add_large_page(workspace, float(body["mib"]))
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
        elif name == "call":
            if body.get("tool") not in server.tool_specs:
                return JSONResponse({"error": f"no tool {body.get('tool')!r}"}, status_code=404)
            result = server.carry_out(body["tool"], body.get("arguments") or {})
            return JSONResponse({"isError": bool(result.is_error), "text": result.content[0].text})  # type: ignore[union-attr]
        elif name == "tool-access":
            level = body.get("query_data_sources", knobs.access.query_data_sources)
            if level not in ACCESS_LEVELS:
                return JSONResponse(
                    {"error": f"query_data_sources must be one of {', '.join(ACCESS_LEVELS)}"},
                    status_code=400,
                )
            knobs.access.query_data_sources = level
            knobs.access.sql_calls_left = int(body.get("sql_calls", knobs.access.sql_calls_left))
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
    strict: RedirectChecks | None = None
    if auth and strict_redirects:
        strict = RedirectChecks(base_url, SCOPES)
        app.add_middleware(StrictRedirects, checks=strict)
    return app


def add_large_page(workspace: Workspace, mib: float) -> Any:
    """A page of ``mib`` MiB of text at the workspace's top level, for the size-limit tests."""
    from dev_notion.model import Page

    line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4 + "\n"
    size = int(mib * 1024 * 1024)
    body = (line * (size // len(line) + 1))[:size]
    page = Page(
        workspace.new_id(),
        f"Large page ({mib:g} MiB)",
        ("workspace", None),
        body,
        created_by=workspace.self_id,
    )
    workspace.pages[page.id] = page
    return page


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
