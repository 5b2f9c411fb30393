"""``notion-bridge probe``: connect to one MCP server with the host's own engine and say what it offers.

    notion-bridge probe [--transport auto|http|sse] [--auth auto|browser|none] [--client-id ID
                        [--client-secret S]] [--header NAME=VALUE ...] [--client-metadata-url URL]
                        [--call TOOL --args JSON] [--compare SNAPSHOT] [--save-tools FILE] [--json] URL
    notion-bridge probe --stdio -- COMMAND ARGS...

``--compare`` prints how the server's tools differ from a snapshot of them (for Notion's:
tests/fixtures/notion_hosted_tools.json), path by path; ``--save-tools`` writes the tools the server offers, in the
snapshot's shape, to bring a snapshot up to date.

For people debugging a server, and for tests. ``--auth browser`` opens the system browser and receives the
redirect on a loopback port; ``--auth auto`` is for servers that approve without a person: it follows the
authorization URL's redirects itself and takes the code from the last one. Tokens are kept in the token
store under the profile ``cli``, so a second probe reuses the first one's sign-in. Sign-in goes through the
host's own code (host.oauth.auth), so every kind the host supports works here too: pre-registered clients
with either way of sending the secret, client ID metadata documents, 2025-03-26 servers, scopes and step-up.
Besides tools, the report lists what else the server offers: resources, resource templates and prompts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from host.errors import BridgeError, ErrorCode
from host.protocol.wire import mcp_wire

PROBE_PROFILE = "cli"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target", nargs="*", help="the server URL, or with --stdio the command and its arguments"
    )
    parser.add_argument(
        "--stdio", action="store_true", help="start the server as a child process and talk over stdio"
    )
    parser.add_argument("--transport", choices=["auto", "http", "sse"], default="auto")
    parser.add_argument("--auth", choices=["auto", "browser", "none"], default="browser")
    parser.add_argument(
        "--client-id", help="a pre-registered OAuth client id (otherwise the probe registers)"
    )
    parser.add_argument("--client-secret", help="the secret of a pre-registered confidential client")
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a custom header sent to the server's origin only (repeatable)",
    )
    parser.add_argument(
        "--client-metadata-url",
        help="the client ID metadata document to use where the server supports them "
        "(default: the configuration's oauth.client_metadata_url); 'none' to always register",
    )
    parser.add_argument("--call", metavar="TOOL", help="call this tool after listing")
    parser.add_argument("--args", default="{}", help="the tool's arguments as a JSON object")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for a tool call")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument(
        "--compare", metavar="SNAPSHOT", help="print how the tools differ from a snapshot file's 'tools'"
    )
    parser.add_argument("--save-tools", metavar="FILE", help="write the server's tools as a snapshot file")


def run(args: argparse.Namespace) -> int:
    try:
        arguments = json.loads(args.args)
        if not isinstance(arguments, dict):
            raise ValueError("not an object")
    except ValueError as exc:
        return _fail(args, f"--args must be a JSON object ({exc})")
    if not args.target:
        return _fail(args, "name a server URL, or --stdio -- COMMAND ARGS...")
    headers = {}
    for item in args.header:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            return _fail(args, f"--header takes NAME=VALUE, not {item!r}")
        headers[name.strip()] = value
    args.headers = headers
    snapshot = None
    if args.compare:
        try:
            snapshot = json.loads(Path(args.compare).read_text(encoding="utf-8"))["tools"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return _fail(args, f"--compare needs a snapshot file with a 'tools' list ({exc})")
    try:
        report = asyncio.run(_probe(args, arguments))
    except BridgeError as exc:
        return _fail(args, str(exc))
    except KeyboardInterrupt:
        return _fail(args, "interrupted")
    if snapshot is not None:
        from host.commands.tool_diff import diff_tools

        report["differences"] = diff_tools(snapshot, report["tools"])
    if args.save_tools:
        saved = {
            "captured_from": args.target[0],
            "captured": time.strftime("%Y-%m-%d"),
            "tools": report["tools"],
        }
        Path(args.save_tools).write_text(
            json.dumps(saved, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    _print(args, report)
    return 1 if report.get("call", {}).get("isError") else 0


def _failed(message: str) -> BridgeError:
    return BridgeError(ErrorCode.SERVER_ERROR, message)


@asynccontextmanager
async def remote_session(
    url: str,
    *,
    auth: str = "browser",
    transport: str = "auto",
    client_id: str | None = None,
    client_secret: str | None = None,
    headers: dict[str, str] | None = None,
    client_metadata_url: str | None = None,
    on_auth: Callable[[Any], None] | None = None,
) -> AsyncIterator[Any]:
    """One session with a remote MCP server through the host's own engine: its transports (HTTP, then SSE), its
    OAuth (``auth`` as ``--auth``) and its token store under the profile ``cli``. Yields the Connection.

    ``headers`` go to the server's origin only; ``client_metadata_url`` is as ``--client-metadata-url`` (None:
    the configuration's). ``on_auth`` is given the sign-in (host.oauth.auth.BridgeAuth, or None), whose words
    explain a refusal."""
    from host.config import RemoteTransport, ServerConfig
    from host.transports import REMOTE, first_that_works, open_connection

    server = ServerConfig(id="probe", name="probe", kind="remote", url=url, client_id=client_id)
    credentials = await _auth_for(auth, server, client_secret, client_metadata_url)
    if on_auth is not None:
        on_auth(credentials)

    @asynccontextmanager
    async def connect(kind: RemoteTransport) -> AsyncIterator[Any]:
        async with open_connection(
            server.id, REMOTE[kind](url, auth=credentials, headers=headers or {})
        ) as connection:
            yield connection

    # No memory of what worked: each probe starts afresh.
    async with first_that_works(transport, None, connect) as connection:  # type: ignore[arg-type]
        yield connection


async def _probe(args: argparse.Namespace, arguments: dict[str, Any]) -> dict[str, Any]:
    from host.config import ServerConfig
    from host.transports import StdioTransport, TransportUnsupported, describe_error, open_connection

    signed_in: list[Any] = []

    try:
        if args.stdio:
            server = ServerConfig(id="probe", name="probe", kind="stdio", command=list(args.target))
            async with open_connection(server.id, StdioTransport.of(server)) as connection:
                return await _report(connection, "stdio", args, arguments)
        async with remote_session(
            args.target[0],
            auth=args.auth,
            transport=args.transport,
            client_id=args.client_id,
            client_secret=args.client_secret,
            headers=args.headers,
            client_metadata_url=args.client_metadata_url,
            on_auth=signed_in.append,
        ) as connection:
            return await _report(connection, connection.transport, args, arguments)
    except TransportUnsupported as exc:
        raise _failed(str(exc)) from None
    except Exception as exc:
        from host.oauth.errors import sign_in_needed

        needs = sign_in_needed(exc)
        refusal = signed_in[0].refusal if signed_in and signed_in[0] is not None else None
        raise _failed(f"sign-in needed: {needs}" if needs else refusal or describe_error(exc)) from None


async def _report(
    connection: Any, transport: str, args: argparse.Namespace, arguments: dict[str, Any]
) -> dict[str, Any]:
    info = connection.server_info
    tools = await connection.list_tools()
    report: dict[str, Any] = {
        "server": {"name": info.name if info else None, "version": (info.version or None) if info else None},
        "protocol_version": connection.protocol_version,
        "transport": transport,
        "tools": [mcp_wire(tool) for tool in tools],
    }
    offered = connection.capabilities
    report["capabilities"] = offered
    if "resources" in offered:
        report["resources"] = [r.uri for r in await connection.list_resources()]
        report["resource_templates"] = [t.uri_template for t in await connection.list_resource_templates()]
    if "prompts" in offered:
        report["prompts"] = [p.name for p in await connection.list_prompts()]
    if args.call:
        if not any(tool.name == args.call for tool in tools):
            raise _failed(f"the server has no tool named {args.call!r}")
        result = await connection.call_tool(args.call, arguments, args.timeout)
        report["call"] = mcp_wire(result)
    return report


async def _auth_for(
    auth: str, server: Any, client_secret: str | None = None, client_metadata_url: str | None = None
) -> Any:
    if auth == "none":
        return None
    from host.oauth.auth import BridgeAuth
    from host.oauth.refresher import TokenRefresher
    from host.token_store import Credentials, TokenStore

    refresher = TokenRefresher(TokenStore(), PROBE_PROFILE, _store_key(server.url))
    if server.client_id:
        stored = await refresher.load() or Credentials()
        known = stored.client_info or {}
        if (known.get("client_id"), known.get("client_secret")) != (server.client_id, client_secret):
            # A new pre-registered client; how its secret is sent is learnt at sign-in, then kept.
            info = {"client_id": server.client_id, "client_secret": client_secret}
            await refresher.save(
                stored.model_copy(update={"client_info": {k: v for k, v in info.items() if v}})
            )
    receiver = _LoopbackReceiver() if auth == "browser" else None
    redirect = receiver.redirect_uri if receiver else "http://127.0.0.1/callback"
    step = receiver.run if receiver else _follow_redirects_for_code
    # Servers that offer both transports publish one protected resource, named by the streamable HTTP URL;
    # the host's own configuration always holds that URL, so sign in against it here too.
    resource_url = (
        server.url[: -len("/sse")] + "/mcp" if server.url.rstrip("/").endswith("/sse") else server.url
    )
    bridge_auth = BridgeAuth(
        server_url=resource_url,
        redirect_uri=redirect,
        refresher=refresher,
        browser_step=step,
        client_metadata_url=_client_metadata_url(client_metadata_url),
    )
    await bridge_auth.prepare()
    return bridge_auth


def _client_metadata_url(given: str | None) -> str | None:
    """``--client-metadata-url`` as given: a URL, 'none', or absent for the configuration's."""
    if given == "none":
        return None
    if given:
        return given
    from host.config import ConfigError, load

    try:
        return load().oauth.client_metadata_url
    except ConfigError:
        from host.config import DEFAULT_CLIENT_METADATA_URL

        return DEFAULT_CLIENT_METADATA_URL


def _store_key(url: str) -> str:
    parts = urlsplit(url)
    return f"probe-{parts.hostname}-{parts.port or ''}{parts.path}".replace("/", "_")


async def _follow_redirects_for_code(url: str) -> tuple[str, str | None, str | None]:
    """The ``auto`` browser step: ask for the authorization URL and read the code off the redirects."""
    import httpx

    from host.oauth.browser_step import _parse_redirect

    async with httpx.AsyncClient(follow_redirects=False, timeout=20) as client:
        for _ in range(10):
            response = await client.get(url)
            location = response.headers.get("location")
            if not location:
                raise _failed(
                    f"the authorization page wants a person (HTTP {response.status_code}); use --auth browser"
                )
            if "code=" in location or "error=" in location:
                return _parse_redirect(location)
            url = str(response.url.join(location))
    raise _failed("too many redirects on the authorization page")


class _LoopbackReceiver:
    """The ``browser`` step: open the system browser and catch the redirect on 127.0.0.1."""

    def __init__(self) -> None:
        import socket

        with socket.socket() as probe_socket:
            probe_socket.bind(("127.0.0.1", 0))
            self.port = probe_socket.getsockname()[1]
        self.redirect_uri = f"http://127.0.0.1:{self.port}/callback"

    async def run(self, url: str) -> tuple[str, str | None, str | None]:
        import webbrowser

        from host.oauth.browser_step import _parse_redirect

        received: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            request_line = (await reader.readline()).decode("latin-1")
            target = request_line.split(" ")[1] if " " in request_line else "/"
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n"
                b"Signed in. You can close this window and return to the terminal.\n"
            )
            await writer.drain()
            writer.close()
            if target.startswith("/callback") and not received.done():
                received.set_result(f"http://127.0.0.1:{self.port}{target}")

        server = await asyncio.start_server(handle, "127.0.0.1", self.port)
        async with server:
            print(f"Opening the sign-in page in your browser:\n  {url}", file=sys.stderr)
            webbrowser.open(url)
            redirect = await asyncio.wait_for(received, 300)
        return _parse_redirect(redirect)


def _print(args: argparse.Namespace, report: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(report, indent=2))
        return
    server = report["server"]
    print(f"server:     {server['name']} {server['version'] or ''}".rstrip())
    print(f"protocol:   {report['protocol_version']} over {report['transport']}")
    print(f"tools ({len(report['tools'])}):")
    for tool in report["tools"]:
        summary = (tool.get("description") or "").strip().splitlines()
        print(f"  {tool['name']}" + (f" — {summary[0]}" if summary else ""))
    for key, title in (
        ("resources", "resources"),
        ("resource_templates", "resource templates"),
        ("prompts", "prompts"),
    ):
        if key in report:
            print(f"{title} ({len(report[key])}):")
            for item in report[key]:
                print(f"  {item}")
    if "differences" in report:
        print(
            f"\ndifferences from {args.compare}:"
            if report["differences"]
            else f"\nthe tools match {args.compare}"
        )
        for line in report["differences"]:
            print(f"  {line}")
    if "call" in report:
        call = report["call"]
        print(f"\n{args.call} -> {'error' if call.get('isError') else 'ok'}")
        for block in call.get("content", []):
            print(block.get("text") if block.get("type") == "text" else json.dumps(block))


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"error": message}))
    else:
        print(f"probe failed: {message}", file=sys.stderr)
    return 2
