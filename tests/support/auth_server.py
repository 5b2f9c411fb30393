"""An OAuth-protected MCP server with its authorization server, in each of the shapes the MCP authorization
spec allows, for the sign-in tests. Built on the SDK's ``mcp.server.auth`` (authorize, token, registration and
revocation handlers, client authentication), with the metadata and the resource server's challenges written
here so each variant can say exactly what its kind of server says.

    python -m tests.support.auth_server VARIANT PORT

Variants (``VARIANTS``):

    dcr           the usual: protected-resource metadata, dynamic registration of a public client
    basic         a pre-registered confidential client; the server takes ``client_secret_basic`` only
    post          a pre-registered confidential client; the server takes ``client_secret_post`` only
    legacy        2025-03-26: no protected-resource metadata, authorization server metadata at the MCP
                  server's own origin (naming its issuer by another host name), a handshake-era MCP server
    legacy-bare   2025-03-26 with no metadata at all: /authorize, /token and /register at the origin
    scope-header  the 401 names the scope to ask for (``WWW-Authenticate: ... scope="read write"``)
    scope-prm     no scope in the 401; protected-resource metadata lists ``scopes_supported``
    scope-none    no scope anywhere: the client must ask for none
    step-up       tools that need more than was granted answer 403 ``insufficient_scope``
    cimd          the authorization server supports client ID metadata documents
    iss           the authorization server says it sends ``iss`` and does
    iss-missing   it says it sends ``iss`` and does not (a client must refuse)
    iss-wrong     it sends an ``iss`` that is not its own (a client must refuse)

Consent is given at once (the authorization endpoint redirects straight back with the code), as a server
the person already trusts would do; ``GET /_stats`` says what the server saw: every authorization request's
parameters, registrations, token requests and how each authenticated, and every tool call with its scopes.
The client ID metadata documents it resolves come from ``AUTH_SERVER_CIMD`` (``URL=PATH;…``): no network here,
so a document "published" at a URL is read from the file that holds it.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import uvicorn
from mcp.server import MCPServer
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    RefreshToken,
    TokenError,
    construct_redirect_uri,
)
from mcp.server.auth.routes import create_auth_routes
from mcp.server.auth.settings import ClientRegistrationOptions, RevocationOptions
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from pydantic import AnyHttpUrl, AnyUrl
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

VARIANTS = (
    "dcr", "basic", "post", "legacy", "legacy-bare", "scope-header", "scope-prm", "scope-none", "step-up",
    "cimd", "iss", "iss-missing", "iss-wrong",
)  # fmt: skip
PRE_REGISTERED = {
    "basic": ("bridge-basic", "basic-secret-4c1f"),
    "post": ("bridge-post", "post-secret-9e2a"),
}
SCOPES = ["read", "write", "admin"]
#: Scopes a tool needs (step-up): ``root`` is one this server never grants.
TOOL_SCOPES = {"admin_only": "admin", "root_only": "root"}


class _Client(OAuthClientInformationFull):
    """A client record that takes any scope this server has, and loopback redirects on any port (RFC 8252)."""

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        return None if requested_scope is None else requested_scope.split()

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is not None and self.redirect_uris is None:
            return redirect_uri  # pre-registered by hand here, for every redirect the bridge may use
        if redirect_uri is not None and self.redirect_uris:
            wanted = urlsplit(str(redirect_uri))
            for registered in self.redirect_uris:
                known = urlsplit(str(registered))
                if known.hostname in ("127.0.0.1", "localhost") and (
                    known.scheme,
                    known.hostname,
                    known.path,
                ) == (
                    wanted.scheme,
                    wanted.hostname,
                    wanted.path,
                ):
                    return redirect_uri
        return super().validate_redirect_uri(redirect_uri)


@dataclass
class Stats:
    authorizations: list[dict[str, Any]] = field(default_factory=list)
    registrations: int = 0
    token_requests: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    challenges: list[dict[str, Any]] = field(default_factory=list)
    cimd_lookups: list[str] = field(default_factory=list)


@dataclass
class Provider:
    variant: str
    issuer: str
    stats: Stats
    documents: dict[str, str]
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access: dict[str, AccessToken] = field(default_factory=dict)
    refresh: dict[str, RefreshToken] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.variant in PRE_REGISTERED:
            client_id, secret = PRE_REGISTERED[self.variant]
            self.clients[client_id] = _Client(
                client_id=client_id,
                client_secret=secret,
                token_endpoint_auth_method="client_secret_basic"
                if self.variant == "basic"
                else "client_secret_post",
                redirect_uris=None,
                grant_types=["authorization_code", "refresh_token"],
            )

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if self.variant == "cimd" and client_id.startswith("https://"):
            self.stats.cimd_lookups.append(client_id)
            path = self.documents.get(client_id)
            if path is None:
                return None
            document = json.loads(Path(path).read_text(encoding="utf-8"))
            if document.get("client_id") != client_id:
                return None  # a document must name the URL it is published at
            return _Client.model_validate(document)
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id
        self.clients[client_info.client_id] = _Client.model_validate(client_info.model_dump())
        self.stats.registrations += 1

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        self.stats.authorizations.append(
            {
                "client_id": client.client_id,
                "scope": " ".join(params.scopes) if params.scopes is not None else None,
                "resource": params.resource,
                "redirect_uri": str(params.redirect_uri),
            }
        )
        code = AuthorizationCode(
            code=secrets.token_urlsafe(24),
            scopes=[s for s in (params.scopes or []) if s != "root"],  # root is never granted
            expires_at=time.time() + 300,
            client_id=client.client_id or "",
            code_challenge=params.code_challenge,
            redirect_uri=params.redirect_uri,
            redirect_uri_provided_explicitly=params.redirect_uri_provided_explicitly,
            resource=params.resource,
        )
        self.codes[code.code] = code
        extra: dict[str, str | None] = {"code": code.code, "state": params.state}
        if self.variant in ("iss", "dcr", "step-up", "cimd", "basic", "post"):
            extra["iss"] = self.issuer
        elif self.variant == "iss-wrong":
            extra["iss"] = "https://someone-else.example"
        return construct_redirect_uri(str(params.redirect_uri), **extra)

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, code: str
    ) -> AuthorizationCode | None:
        found = self.codes.get(code)
        return found if found is not None and found.client_id == client.client_id else None

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        self.codes.pop(authorization_code.code, None)
        return self._issue(client.client_id or "", authorization_code.scopes, authorization_code.resource)

    def _issue(self, client_id: str, scopes: list[str], resource: str | None) -> OAuthToken:
        access = AccessToken(
            # Shaped like the Notion-compatible server's, and logged like them, so the run's token scan
            # (tests/support/token_scan.py) checks that none of these leaks either.
            token=f"ntn_at_{secrets.token_urlsafe(24)}",
            client_id=client_id,
            scopes=scopes,
            expires_at=int(time.time()) + 3600,
            resource=resource,
        )
        refresh = RefreshToken(
            token=f"ntn_rt_{secrets.token_urlsafe(24)}", client_id=client_id, scopes=scopes
        )
        self.access[access.token] = access
        self.refresh[refresh.token] = refresh
        issued_log = os.environ.get("DEV_NOTION_ISSUED_LOG")
        if issued_log:
            with open(issued_log, "a", encoding="utf-8") as log:
                log.write(f"{access.token}\t{self.issuer}\n{refresh.token}\t{self.issuer}\n")
        return OAuthToken(
            access_token=access.token,
            token_type="Bearer",
            expires_in=3600,
            refresh_token=refresh.token,
            scope=" ".join(scopes) or None,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        found = self.refresh.get(refresh_token)
        return found if found is not None and found.client_id == client.client_id else None

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        if self.refresh.pop(refresh_token.token, None) is None:
            raise TokenError("invalid_grant", "refresh token already used")
        return self._issue(client.client_id or "", scopes or refresh_token.scopes, None)

    async def load_access_token(self, token: str) -> AccessToken | None:
        return self.access.get(token)

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access.pop(token.token, None)
        self.refresh.pop(token.token, None)


def _metadata(variant: str, base: str) -> dict[str, Any] | None:
    """What ``/.well-known/oauth-authorization-server`` says; None where the variant serves none."""
    if variant == "legacy-bare":
        return None
    metadata: dict[str, Any] = {
        # A 2025-03-26 server's metadata may name its issuer other than by the origin it is reached at (here:
        # the same server by another host name); that revision defines no check of it.
        "issuer": base.replace("127.0.0.1", "localhost") if variant == "legacy" else base,
        "authorization_endpoint": f"{base}/authorize",
        "token_endpoint": f"{base}/token",
        "registration_endpoint": f"{base}/register",
        "revocation_endpoint": f"{base}/revoke",
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
    }
    if variant in PRE_REGISTERED:
        metadata.pop("registration_endpoint")
        metadata["token_endpoint_auth_methods_supported"] = [f"client_secret_{variant}"]
        metadata["revocation_endpoint_auth_methods_supported"] = [f"client_secret_{variant}"]
    if variant in ("scope-header", "scope-prm", "step-up", "dcr"):
        metadata["scopes_supported"] = SCOPES
    if variant == "cimd":
        metadata["client_id_metadata_document_supported"] = True
    if variant in ("iss", "iss-missing", "iss-wrong", "dcr", "step-up", "cimd", "basic", "post"):
        metadata["authorization_response_iss_parameter_supported"] = True
    return metadata


def _protected_resource(variant: str, base: str) -> dict[str, Any] | None:
    if variant in ("legacy", "legacy-bare"):
        return None
    metadata: dict[str, Any] = {"resource": f"{base}/mcp", "authorization_servers": [base]}
    if variant in ("scope-prm", "step-up", "dcr"):
        metadata["scopes_supported"] = ["read", "write"] if variant == "scope-prm" else SCOPES
    return metadata


def _challenge(variant: str, base: str) -> str:
    parts = ['Bearer error="invalid_token"']
    if variant not in ("legacy", "legacy-bare"):
        parts.append(f'resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"')
    if variant in ("scope-header", "step-up"):
        parts.append('scope="read write"')
    return ", ".join(parts)


def build_app(variant: str, port: int) -> Starlette:
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}; one of {', '.join(VARIANTS)}")
    base = f"http://127.0.0.1:{port}"
    stats = Stats()
    documents = dict(
        item.split("=", 1) for item in os.environ.get("AUTH_SERVER_CIMD", "").split(";") if "=" in item
    )
    provider = Provider(variant, base, stats, documents)

    mcp = MCPServer(f"signin-{variant}", version="1.0")

    @mcp.tool()
    def echo(text: str) -> str:
        """Return the text."""
        return text

    @mcp.tool()
    def admin_only() -> str:
        """Needs the admin scope."""
        return "admin things done"

    @mcp.tool()
    def root_only() -> str:
        """Needs a scope this server never grants."""
        return "unreachable"

    mcp_app = mcp.streamable_http_app()
    auth_routes = [
        route
        for route in create_auth_routes(
            provider,  # type: ignore[arg-type]
            AnyHttpUrl(base),
            client_registration_options=ClientRegistrationOptions(enabled=variant not in PRE_REGISTERED),
            revocation_options=RevocationOptions(enabled=True),
        )
        if getattr(route, "path", "") != "/.well-known/oauth-authorization-server"
    ]

    async def authorization_server_metadata(request: Request) -> JSONResponse:
        metadata = _metadata(variant, base)
        return JSONResponse(metadata) if metadata else JSONResponse({"error": "not found"}, status_code=404)

    async def protected_resource_metadata(request: Request) -> JSONResponse:
        metadata = _protected_resource(variant, base)
        return JSONResponse(metadata) if metadata else JSONResponse({"error": "not found"}, status_code=404)

    async def stats_page(request: Request) -> JSONResponse:
        return JSONResponse(stats.__dict__)

    async def protected(scope: Any, receive: Any, send: Any) -> None:
        """The MCP endpoint behind bearer tokens, with each variant's challenges."""
        if scope["type"] != "http":
            await mcp_app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        body, replay = await _buffered(receive)

        authorization = headers.get(b"authorization", b"").decode()
        token = (
            await provider.load_access_token(authorization.removeprefix("Bearer ")) if authorization else None
        )
        if token is None:
            stats.challenges.append({"status": 401})
            await _reply(send, 401, {"error": "invalid_token"}, _challenge(variant, base))
            return
        try:
            rpc = json.loads(body or b"{}")
        except ValueError:
            rpc = {}
        if isinstance(rpc, dict) and rpc.get("method") == "tools/call":
            name = (rpc.get("params") or {}).get("name")
            stats.calls.append({"tool": name, "scopes": token.scopes})
            needed = TOOL_SCOPES.get(name or "")
            if variant == "step-up" and needed and needed not in token.scopes:
                wanted = " ".join([*token.scopes, needed])
                stats.challenges.append({"status": 403, "scope": wanted})
                challenge = f'Bearer error="insufficient_scope", scope="{wanted}", resource_metadata="{base}/.well-known/oauth-protected-resource/mcp"'
                await _reply(send, 403, {"error": "insufficient_scope"}, challenge)
                return
        version = headers.get(b"mcp-protocol-version", b"").decode("latin-1")
        if variant.startswith("legacy") and version and version not in HANDSHAKE_PROTOCOL_VERSIONS:
            # A 2025 server does not know the 2026 discovery: clients fall back to initialize.
            await _reply(
                send,
                400,
                {"jsonrpc": "2.0", "id": None, "error": {"code": -32601, "message": "Method not found"}},
            )
            return
        await mcp_app(scope, replay, send)

    router = Starlette(
        routes=[
            *auth_routes,
            Route("/.well-known/oauth-authorization-server", authorization_server_metadata),
            Route("/.well-known/oauth-protected-resource/mcp", protected_resource_metadata),
            Route("/.well-known/oauth-protected-resource", protected_resource_metadata),
            Route("/_stats", stats_page),
        ]
    )

    async def token_endpoint(scope: Any, receive: Any, send: Any) -> None:
        """Note how each token request authenticated the client, then let the SDK's handler answer it."""
        body, replay = await _buffered(receive)
        form = parse_qs(body.decode("utf-8", "replace"))
        authorization = dict(scope["headers"]).get(b"authorization", b"").decode()
        stats.token_requests.append(
            {
                "grant_type": (form.get("grant_type") or [None])[0],
                "basic": authorization.startswith("Basic "),
                "secret_in_body": "client_secret" in form,
                "scope": (form.get("scope") or [None])[0],
            }
        )
        await router(scope, replay, send)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await mcp_app(scope, receive, send)  # starts the MCP session manager
        elif scope["type"] == "http" and scope["path"].rstrip("/") == "/mcp":
            await protected(scope, receive, send)
        elif scope["type"] == "http" and scope["path"] == "/token":
            await token_endpoint(scope, receive, send)
        else:
            await router(scope, receive, send)

    return app  # type: ignore[return-value]


async def _buffered(receive: Any) -> tuple[bytes, Any]:
    """A request's whole body, and a ``receive`` that gives it again to the app behind."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if replayed:
            return await receive()  # after the body: the disconnect, when it comes
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _reply(send: Any, status: int, body: dict[str, Any], challenge: str | None = None) -> None:
    payload = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    if challenge:
        headers.append((b"www-authenticate", challenge.encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def main() -> None:
    variant, port = sys.argv[1], int(sys.argv[2])
    uvicorn.run(build_app(variant, port), host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main()


class AuthServerProcess:
    """This server, one variant, as a process on 127.0.0.1 for a test."""

    def __init__(self, variant: str) -> None:
        from tests.support.processes import free_port

        self.variant = variant
        self.port = free_port()
        self.proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> AuthServerProcess:
        import subprocess

        from tests.support.processes import ROOT, wait_until_serving

        document = ROOT / "docs" / "oauth" / "client-metadata.json"
        from host.config import DEFAULT_CLIENT_METADATA_URL

        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "AUTH_SERVER_CIMD": f"{DEFAULT_CLIENT_METADATA_URL}={document}",
        }
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.auth_server", self.variant, str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stats(self) -> dict[str, Any]:
        import httpx

        response = httpx.get(f"http://127.0.0.1:{self.port}/_stats", timeout=10)
        response.raise_for_status()
        return dict(response.json())
