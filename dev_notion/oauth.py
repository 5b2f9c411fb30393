"""The authorization server of the Notion-compatible server, built on the SDK's provider interface.

Shaped like Notion's: dynamic registration of public clients, PKCE S256 (enforced by the SDK's handlers),
``resource`` accepted, rotating refresh tokens, revocation, and a plain token response (access and refresh token,
``expires_in``, ``token_type``): the hosted server's does not name the workspace, so a client learns it from the
``notion-fetch`` tool with the id ``self``. The consent page has Allow and Deny.

``StrictRedirects`` (``--strict-redirects``) checks redirect URIs the way the hosted authorization server does
(Cloudflare's workers-oauth-provider): registration needs at least one redirect URI, each with a scheme that is not
``javascript:``, ``data:`` and the like and without control characters; ``/authorize`` and the code exchange accept
only a URI registered for the client, compared as strings, byte for byte, except that a loopback URI may differ in
its port (RFC 8252). The SDK's own check compares parsed URLs, which forgives differences the hosted server does not.

Refresh-token rotation follows Notion's server exactly, because a client's crash safety depends on it.
Notion's hosted MCP server runs on Cloudflare's workers-oauth-provider (Notion's own MCP client guide says
so), and that library rotates like this: a grant holds at most two valid refresh tokens, the newest one
and the one last used. Refreshing with either of them issues a new one and invalidates the *other*; the
token just used stays valid until its successor is used. So a client that loses the answer to a refresh
(killed, timed out, crashed before storing) can retry with the token it still has, while a client that
keeps refreshing from a token older than the last two, or two clients refreshing from the same token
without coordinating, end in ``invalid_grant``. ``rotation="strict"`` (single-use refresh tokens, as
OAuth 2.1 words it for public clients) is kept to show what that grace buys.
"""

from __future__ import annotations

import asyncio
import html
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from ipaddress import ip_address
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    TokenError,
)
from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response


@dataclass
class Stats:
    registrations: int = 0
    authorizations: int = 0
    denials: int = 0
    token_issues: int = 0
    refreshes: int = 0
    refresh_rejections: int = 0
    """Refresh requests answered ``invalid_grant``, for whatever reason."""
    stale_refreshes: int = 0
    """Of those, refresh tokens this server once issued but had rotated out: the mark of a client that lost
    track of its newest token, or of two clients refreshing without coordinating."""
    previous_token_refreshes: int = 0
    """Refreshes that used the grant's previous (not newest) token and succeeded: a client retrying after it
    lost a refresh answer. Normal operation never does this."""
    invalid_grant: int = 0
    """Every ``invalid_grant`` this server answered: refresh tokens and authorization codes."""
    revocations: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Grant:
    """One consent's refresh-token state: at most two tokens work at a time (see the module docstring)."""

    client_id: str
    scopes: list[str]
    resource: str | None
    current: str = ""
    previous: str | None = None

    def valid(self) -> list[str]:
        return [t for t in (self.current, self.previous) if t]


@dataclass
class TokenEndpointHold:
    """The ``token-delay`` knob: refresh answers are held so a test can kill a client mid-refresh.

    ``when="before"``: the request waits before the server looks at it, and is dropped unprocessed if the
    client goes away meanwhile. ``when="after"``: the server rotates at once and holds the answer, so a client
    killed now never learns its new refresh token although the server has already moved on.
    """

    ms: int = 0
    when: str = "before"
    waiting_before: int = 0
    holding_after: int = 0
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def set(self, ms: int, when: str) -> None:
        if when not in ("before", "after"):
            raise ValueError("when must be 'before' or 'after'")
        # Changing the knob lets every held request go: a test sets ms=0 once its client is dead.
        self.release.set()
        self.release = asyncio.Event()
        self.ms, self.when = ms, when

    def as_dict(self) -> dict[str, Any]:
        return {
            "ms": self.ms,
            "when": self.when,
            "waiting_before": self.waiting_before,
            "holding_after": self.holding_after,
        }


@dataclass
class TokenEndpointFailure:
    """The ``token-fail`` knob: the next ``times`` refresh requests fail before the server looks at them (so
    nothing rotates), as a sign-in server that is down, overloaded or behind a failing proxy would: with
    ``status`` and, when given, an OAuth ``error`` body; or, with ``drop``, the connection cut mid-answer."""

    status: int = 503
    error: str | None = None
    drop: bool = False
    times: int = 0
    failed: int = 0

    def set(self, status: int, error: str | None, times: int, drop: bool) -> None:
        self.status, self.error, self.times, self.drop = status, error, times, drop


@dataclass
class _Pending:
    client: OAuthClientInformationFull
    params: AuthorizationParams


@dataclass
class DevAuthProvider:
    base_url: str
    workspace_name: str
    workspace_id: str
    token_lifetime_s: int = 3600
    auto_approve: bool = False
    rotation: str = "notion"
    """``notion``: the newest and the last-used refresh token both work; ``strict``: each works once."""
    clients: dict[str, OAuthClientInformationFull] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    access_tokens: dict[str, AccessToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    """Every refresh token that works right now."""
    grants: dict[str, _Grant] = field(default_factory=dict)
    """Refresh token (valid or rotated out) → its grant, while the grant lasts."""
    hold: TokenEndpointHold = field(default_factory=TokenEndpointHold)
    failure: TokenEndpointFailure = field(default_factory=TokenEndpointFailure)
    pending: dict[str, _Pending] = field(default_factory=dict)
    stats: Stats = field(default_factory=Stats)
    issued: list[str] = field(default_factory=list)
    """Every token value ever issued, so tests can scan for leaks; a test server only."""

    # --- clients --------------------------------------------------------------------------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        return self.clients.get(client_id)

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        assert client_info.client_id is not None
        self.clients[client_info.client_id] = client_info
        self.stats.registrations += 1

    # --- authorization --------------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        request_id = secrets.token_urlsafe(16)
        self.pending[request_id] = _Pending(client, params)
        if self.auto_approve:
            return self.approve(request_id)
        return f"{self.base_url}/consent?request={request_id}"

    def approve(self, request_id: str) -> str:
        pending = self.pending.pop(request_id, None)
        if pending is None:
            raise AuthorizeError("invalid_request", "this consent request expired or was already answered")
        code = AuthorizationCode(
            code=secrets.token_urlsafe(32),
            # No scope asked for: the client's registered one (the hosted server offers only "default").
            scopes=pending.params.scopes or (pending.client.scope or "").split(),
            expires_at=time.time() + 300,
            client_id=pending.client.client_id or "",
            code_challenge=pending.params.code_challenge,
            redirect_uri=pending.params.redirect_uri,
            redirect_uri_provided_explicitly=pending.params.redirect_uri_provided_explicitly,
            resource=pending.params.resource,
        )
        self.codes[code.code] = code
        self.stats.authorizations += 1
        return self._redirect(pending, code=code.code)

    def deny(self, request_id: str) -> str:
        pending = self.pending.pop(request_id, None)
        if pending is None:
            raise AuthorizeError("invalid_request", "this consent request expired or was already answered")
        self.stats.denials += 1
        return self._redirect(pending, error="access_denied", error_description="the user denied access")

    def _redirect(self, pending: _Pending, **params: str) -> str:
        query = {**params, "iss": self.base_url}
        if pending.params.state is not None:
            query["state"] = pending.params.state
        uri = str(pending.params.redirect_uri)
        return f"{uri}{'&' if '?' in uri else '?'}{urlencode(query)}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> AuthorizationCode | None:
        code = self.codes.get(authorization_code)
        return code if code is not None and code.client_id == client.client_id else None

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: AuthorizationCode
    ) -> OAuthToken:
        if self.codes.pop(authorization_code.code, None) is None:
            raise TokenError("invalid_grant", "authorization code already used")
        grant = _Grant(client.client_id or "", authorization_code.scopes, authorization_code.resource)
        return self._issue(grant)

    # --- tokens ---------------------------------------------------------------------------------------

    def _issue(self, grant: _Grant) -> OAuthToken:
        scopes = grant.scopes
        access = AccessToken(
            token=f"ntn_at_{secrets.token_urlsafe(24)}",
            client_id=grant.client_id,
            scopes=scopes,
            expires_at=int(time.time() + self.token_lifetime_s),
            resource=grant.resource,
        )
        refresh = RefreshToken(
            token=f"ntn_rt_{secrets.token_urlsafe(24)}",
            client_id=grant.client_id,
            scopes=scopes,
            resource=grant.resource,
        )
        self.access_tokens[access.token] = access
        self.refresh_tokens[refresh.token] = refresh
        self.grants[refresh.token] = grant
        grant.current = refresh.token
        self.issued += [access.token, refresh.token]
        _append_to_issued_log(self.base_url, access.token, refresh.token)
        self.stats.token_issues += 1
        return OAuthToken(
            access_token=access.token,
            token_type="Bearer",
            expires_in=self.token_lifetime_s,
            refresh_token=refresh.token,
            scope=" ".join(scopes) or None,
        )

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> RefreshToken | None:
        token = self.refresh_tokens.get(refresh_token)
        if token is None or token.client_id != client.client_id:
            return None
        return token

    def note_token_answer(self, form: dict[str, str], status: int, body: bytes) -> None:
        """Count what the token endpoint answered. Done on the wire, because the same lookups also serve
        revocation, where an unknown token is no refusal at all."""
        if status < 400 or b'"invalid_grant"' not in body:
            return
        self.stats.invalid_grant += 1
        if form.get("grant_type") == "refresh_token":
            self.stats.refresh_rejections += 1
            if form.get("refresh_token", "") in self.grants:
                self.stats.stale_refreshes += 1

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: RefreshToken, scopes: list[str]
    ) -> OAuthToken:
        used = refresh_token.token
        grant = self.grants.get(used)
        if grant is None or used not in grant.valid() or used not in self.refresh_tokens:
            raise TokenError("invalid_grant", "refresh token already used")
        if self.rotation == "strict":
            retired = grant.valid()
            grant.previous = None
        else:
            # Keep the token just used, retire the other one (see the module docstring for why).
            if used == grant.previous:
                self.stats.previous_token_refreshes += 1
            retired = [t for t in grant.valid() if t != used]
            grant.previous = used
        for token in retired:
            self.refresh_tokens.pop(token, None)
        self.stats.refreshes += 1
        if scopes:
            grant.scopes = scopes
        return self._issue(grant)

    async def load_access_token(self, token: str) -> AccessToken | None:
        access = self.access_tokens.get(token)
        if access is None:
            return None
        if access.expires_at is not None and access.expires_at < time.time():
            return None
        return access

    async def revoke_token(self, token: AccessToken | RefreshToken) -> None:
        self.access_tokens.pop(token.token, None)
        self.refresh_tokens.pop(token.token, None)
        if (grant := self.grants.get(token.token)) is not None:
            self._end_grant(grant)
        self.stats.revocations += 1

    def _end_grant(self, grant: _Grant) -> None:
        # Its tokens become unknown rather than rotated out: refusing them afterwards is no stale refresh.
        for value in [t for t, g in self.grants.items() if g is grant]:
            self.grants.pop(value)
            self.refresh_tokens.pop(value, None)

    # --- knobs ----------------------------------------------------------------------------------------

    def revoke_everything(self) -> None:
        self.access_tokens.clear()
        self.refresh_tokens.clear()
        self.grants.clear()

    def forget_clients(self) -> None:
        self.clients.clear()
        self.revoke_everything()

    def expire_access_tokens(self) -> None:
        for token in self.access_tokens.values():
            token.expires_at = int(time.time()) - 1

    def token_counts(self) -> dict[str, Any]:
        return {
            "access_tokens": len(self.access_tokens),
            "refresh_tokens": len(self.refresh_tokens),
            "clients": len(self.clients),
        }

    # --- consent page ---------------------------------------------------------------------------------

    async def consent_page(self, request: Request) -> Response:
        request_id = request.query_params.get("request", "")
        pending = self.pending.get(request_id)
        if pending is None:
            return HTMLResponse("<h1>This sign-in request has expired.</h1>", status_code=400)
        name = html.escape(pending.client.client_name or pending.client.client_id or "An application")
        workspace = html.escape(self.workspace_name)
        rid = html.escape(request_id)
        return HTMLResponse(
            f"""<!doctype html><html><head><meta charset="utf-8"><title>Connect to {workspace}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:4rem auto;color:#37352f}}
button{{font-size:1rem;padding:.5rem 1.25rem;margin-right:.5rem;border-radius:6px;border:1px solid #ccc}}
#allow{{background:#2383e2;color:white;border-color:#2383e2}}</style></head>
<body><h1>{name} wants to access {workspace}</h1>
<p>It will be able to read and change pages and databases you can access in {workspace}.</p>
<form method="post" action="/consent"><input type="hidden" name="request" value="{rid}">
<button id="allow" name="decision" value="allow">Allow</button>
<button id="deny" name="decision" value="deny">Deny</button></form></body></html>"""
        )

    async def consent_answer(self, request: Request) -> Response:
        form = await request.form()
        request_id = str(form.get("request", ""))
        try:
            target = self.approve(request_id) if form.get("decision") == "allow" else self.deny(request_id)
        except AuthorizeError as exc:
            return HTMLResponse(
                f"<h1>{html.escape(exc.error_description or exc.error)}</h1>", status_code=400
            )
        return RedirectResponse(target, status_code=302)


def _append_to_issued_log(issuer: str, *tokens: str) -> None:
    # The test suite scans everything it saw for tokens; servers come and go (killed, restarted), so every
    # value issued is appended, with the origin it was issued at, to a file that outlives them.
    path = os.environ.get("DEV_NOTION_ISSUED_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write("".join(f"{token}\t{issuer}\n" for token in tokens))


# --- strict redirect URIs -----------------------------------------------------------------------------------

_DANGEROUS_SCHEMES = ("javascript:", "data:", "vbscript:", "file:", "mailto:", "blob:")


def _loopback(uri: str) -> bool:
    host = (urlsplit(uri).hostname or "").lower()
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


def redirect_allowed(requested: str, registered: list[str]) -> bool:
    """workers-oauth-provider's rule: exact string match, or a loopback URI differing only in its port."""
    for uri in registered:
        if _loopback(requested) and _loopback(uri):
            a, b = urlsplit(requested), urlsplit(uri)
            if (a.scheme, a.hostname, a.path, a.query) == (b.scheme, b.hostname, b.path, b.query):
                return True
        elif requested == uri:
            return True
    return False


def scheme_problem(uri: Any) -> str | None:
    if not isinstance(uri, str):
        return "a redirect URI must be a string"
    text = uri.strip()
    if any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in text):
        return "a redirect URI must not hold control characters"
    if ":" not in text:
        return f"{uri!r} has no scheme"
    if text[: text.index(":") + 1].lower() in _DANGEROUS_SCHEMES:
        return f"{uri!r} uses a scheme that is not allowed"
    return None


@dataclass
class RedirectChecks:
    """What the strict mode saw: the redirect URIs each client registered, as sent, and every refusal."""

    base_url: str
    scopes: list[str]
    registered: dict[str, list[str]] = field(default_factory=dict)
    refusals: list[dict[str, str]] = field(default_factory=list)

    def refuse(self, where: str, error: str, description: str) -> None:
        self.refusals.append({"where": where, "error": error, "description": description})

    def report(self) -> dict[str, Any]:
        return {"strict": True, "registered": self.registered, "refusals": self.refusals}


class StrictRedirects:
    """ASGI middleware in front of /register, /authorize and /token (see the module docstring)."""

    def __init__(self, app: Any, checks: RedirectChecks) -> None:
        self.app = app
        self.checks = checks

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path, method = scope["path"], scope["method"]
        if path == "/register" and method == "POST":
            await self._register(scope, receive, send)
        elif path == "/authorize" and method in ("GET", "POST"):
            await self._authorize(scope, receive, send)
        elif path == "/token" and method == "POST":
            await self._token(scope, receive, send)
        else:
            await self.app(scope, receive, send)

    async def _register(self, scope: Any, receive: Any, send: Any) -> None:
        body = await _body(receive)
        try:
            metadata = json.loads(body or b"{}")
        except ValueError:
            metadata = None
        uris = metadata.get("redirect_uris") if isinstance(metadata, dict) else None
        problem = None
        if not isinstance(uris, list) or not uris:
            problem = "redirect_uris is required and must not be empty"
        else:
            problem = next((p for p in map(scheme_problem, uris) if p), None)
        requested_scope = str(metadata.get("scope") or "") if isinstance(metadata, dict) else ""
        unknown = [s for s in requested_scope.split() if s not in self.checks.scopes]
        if problem is None and unknown:
            problem = f"scope {' '.join(unknown)!r} is not offered; the server offers {' '.join(self.checks.scopes)!r}"
        if problem is not None:
            self.checks.refuse("register", "invalid_client_metadata", problem)
            await _json(send, 400, {"error": "invalid_client_metadata", "error_description": problem})
            return
        answer: list[Any] = []

        async def keep(message: Any) -> None:
            answer.append(message)

        await self.app(scope, _replay(body, receive), keep)
        raw = b"".join(m.get("body", b"") for m in answer if m["type"] == "http.response.body")
        try:
            client_id = json.loads(raw).get("client_id")
        except (ValueError, AttributeError):
            client_id = None
        if client_id:
            self.checks.registered[client_id] = [str(u) for u in uris]  # type: ignore[union-attr]
        for message in answer:
            await send(message)

    async def _authorize(self, scope: Any, receive: Any, send: Any) -> None:
        body = await _body(receive) if scope["method"] == "POST" else b""
        query = scope.get("query_string", b"").decode("latin-1")
        params = {k: v[0] for k, v in parse_qs(body.decode("latin-1") if body else query).items()}
        client_id = params.get("client_id", "")
        registered = self.checks.registered.get(client_id)
        redirect = params.get("redirect_uri")
        if registered is not None and (not redirect or not redirect_allowed(redirect, registered)):
            description = (
                f"Invalid redirect URI: {redirect!r} is not registered for this client "
                f"(registered: {', '.join(registered)})"
            )
            self.checks.refuse("authorize", "invalid_request", description)
            await _json(send, 400, {"error": "invalid_request", "error_description": description})
            return
        unknown = [s for s in (params.get("scope") or "").split() if s not in self.checks.scopes]
        resource = params.get("resource")
        if redirect and (unknown or (resource and resource.rstrip("/") != f"{self.checks.base_url}/mcp")):
            error = "invalid_scope" if unknown else "invalid_target"
            description = (
                f"scope {' '.join(unknown)!r} is not offered"
                if unknown
                else f"resource {resource!r} is not this server"
            )
            self.checks.refuse("authorize", error, description)
            query_out = {"error": error, "error_description": description, "iss": self.checks.base_url}
            if params.get("state"):
                query_out["state"] = params["state"]
            location = f"{redirect}{'&' if '?' in redirect else '?'}{urlencode(query_out)}"
            await send(
                {"type": "http.response.start", "status": 302, "headers": [(b"location", location.encode())]}
            )
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, _replay(body, receive) if body else receive, send)

    async def _token(self, scope: Any, receive: Any, send: Any) -> None:
        body = await _body(receive)
        form = {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace")).items()}
        registered = self.checks.registered.get(form.get("client_id", ""))
        redirect = form.get("redirect_uri")
        if (
            form.get("grant_type") == "authorization_code"
            and registered is not None
            and redirect is not None
            and not redirect_allowed(redirect, registered)
        ):
            self.checks.refuse("token", "invalid_grant", f"Invalid redirect URI: {redirect!r}")
            await _json(send, 400, {"error": "invalid_grant", "error_description": "Invalid redirect URI"})
            return
        await self.app(scope, _replay(body, receive), send)


async def _body(receive: Any) -> bytes:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            return body


def _replay(body: bytes, receive: Any) -> Any:
    delivered = False

    async def replay() -> Any:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


async def _json(send: Any, status: int, payload: dict[str, Any]) -> None:
    data = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})
