"""The httpx2 ``Auth`` every remote session goes through.

Order of preference for each request:
1. the stored access token, refreshed by us ahead of expiry (host.oauth.refresher);
2. on a 401 with a token we believed valid: one forced refresh and one retry;
3. otherwise the SDK's ``OAuthClientProvider`` runs the MCP authorization flow — protected-resource metadata,
   authorization-server metadata, client registration, PKCE S256 with ``state`` and ``resource`` — and calls
   the browser step, but only when the person asked to connect. A background reconnect never opens a window:
   it ends in ``needs_auth`` instead.

Every kind of sign-in the MCP authorization spec allows goes through here:

- the client: a pre-registered one from the configuration (its secret sent the way the server's metadata
  says: ``client_secret_basic`` or ``client_secret_post``), else a client ID metadata document where the
  authorization server supports them (the bridge's own, ``oauth.client_metadata_url``), else dynamic
  registration;
- servers on the 2025-03-26 revision: no protected-resource metadata, so the authorization server metadata
  is read at the MCP server's own origin, and where even that is missing the default endpoints (/authorize,
  /token, /register) are used. That revision defines no issuer check: the metadata found at the MCP server's
  origin is the server's own word, whatever issuer it names (later revisions require the issuer it was
  found under, and get it);
- scopes: those the 401's ``WWW-Authenticate`` names, else the ``scopes_supported`` published, else none;
- step-up: a 403 ``insufficient_scope`` to something the person asked for (a tool call, a read) signs in
  once more, for the union of the scopes held and those asked for; the same challenge is never answered
  twice, so a server that keeps refusing cannot make the window open again and again;
- ``iss`` in the authorization response, checked against the issuer whenever it is present, and required
  where the server's metadata says it sends it (RFC 9207).
"""

from __future__ import annotations

import contextvars
import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx2
import mcp.client.auth.oauth2 as sdk_oauth
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.utils import extract_field_from_www_auth
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from host.oauth.refresher import (
    ClientRejected,
    NeedsAuthorization,
    TokenRefresher,
    credentials_from_token_response,
)
from host.origins import same_origin
from host.token_store import Credentials

log = logging.getLogger(__name__)

BrowserStepFn = Callable[[str], Awaitable[tuple[str, str | None, str | None]]]

#: The requests a person makes (as opposed to the host's own: listing, pinging, listening): a 403
#: ``insufficient_scope`` to one of these may open the sign-in window to ask for more, even in a session the
#: host started by itself.
PERSON_METHODS = frozenset(
    {"tools/call", "resources/read", "resources/subscribe", "prompts/get", "completion/complete"}
)

_flow_provider: contextvars.ContextVar[OAuthClientProvider | None] = contextvars.ContextVar(
    "flow_provider", default=None
)
"""The provider whose sign-in is running in this context (the SDK runs its flow in the request's context)."""


def _validate_metadata_issuer(oauth_metadata: Any, expected_issuer: str) -> None:
    """The SDK's RFC 8414 issuer check, except on the 2025-03-26 path (no protected-resource metadata), which
    that revision defines no issuer check for: the metadata at the MCP server's own origin is its word."""
    provider = _flow_provider.get()
    if provider is not None and provider.context.auth_server_url is None:
        if str(oauth_metadata.issuer).rstrip("/") != expected_issuer.rstrip("/"):
            log.info(
                "the authorization server metadata at the MCP server's origin names the issuer %s; a "
                "2025-03-26 server's metadata is its own, whatever issuer it names",
                oauth_metadata.issuer,
            )
        return
    _sdk_validate_metadata_issuer(oauth_metadata, expected_issuer)


_sdk_validate_metadata_issuer = sdk_oauth.validate_metadata_issuer
sdk_oauth.validate_metadata_issuer = _validate_metadata_issuer


def _choose_client_auth(client_info: OAuthClientInformationFull, metadata: Any) -> str | None:
    """How a confidential client authenticates at the token endpoint: as the server's metadata says it takes
    (``client_secret_basic`` when it does not say: RFC 8414's default). None for a public client."""
    if not client_info.client_secret:
        return None
    supported = list(
        getattr(metadata, "token_endpoint_auth_methods_supported", None) or ["client_secret_basic"]
    )
    current = client_info.token_endpoint_auth_method
    if current in ("client_secret_basic", "client_secret_post") and current in supported:
        return current
    for method in supported:
        if method in ("client_secret_basic", "client_secret_post"):
            return method
    return current or "client_secret_basic"


class _Provider(OAuthClientProvider):
    """The SDK's provider, with the decisions it leaves to the client made: how a pre-registered client's
    secret is sent, and which redirect URI goes with the bridge's client ID metadata document."""

    def __init__(self, *args: Any, cimd_redirect_uri: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cimd_redirect_uri = cimd_redirect_uri

    async def _settle_client_auth(self) -> None:
        info = self.context.client_info
        if info is None or not info.client_secret:
            return
        method = _choose_client_auth(info, self.context.oauth_metadata)
        if method != info.token_endpoint_auth_method:
            log.info("the pre-registered client authenticates with %s, as the server's metadata says", method)
            info = info.model_copy(update={"token_endpoint_auth_method": method})
            self.context.client_info = info
            await self.context.storage.set_client_info(info)

    async def _perform_authorization(self) -> httpx2.Request:
        info = self.context.client_info
        metadata_url = self.context.client_metadata_url
        if self._cimd_redirect_uri and info is not None and metadata_url and info.client_id == metadata_url:
            # The document lists one redirect for the extension; the per-server one is for registrations.
            self.context.client_metadata = self.context.client_metadata.model_copy(
                update={"redirect_uris": [self._cimd_redirect_uri]}
            )
        await self._settle_client_auth()
        return await super()._perform_authorization()

    async def _refresh_token(self) -> httpx2.Request:
        await self._settle_client_auth()
        return await super()._refresh_token()


class _StoreAdapter:
    """The SDK's TokenStorage, backed by our store; keeps our absolute expiry and the endpoints."""

    def __init__(
        self, refresher: TokenRefresher, provider_ref: Callable[[], OAuthClientProvider | None]
    ) -> None:
        self._refresher = refresher
        self._provider = provider_ref
        self.last_token_response: dict[str, Any] | None = None

    async def get_tokens(self) -> OAuthToken | None:
        # Tokens the server rejected were purged already; anything stored here is worth presenting.
        credentials = self._refresher.cached()
        if credentials is None or not credentials.access_token:
            return None
        return OAuthToken(
            access_token=credentials.access_token,
            refresh_token=credentials.refresh_token,
            scope=credentials.scope,
        )

    async def set_tokens(self, tokens: OAuthToken) -> None:
        previous = self._refresher.cached()
        raw = dict(self.last_token_response or {})
        raw.update(tokens.model_dump(exclude_none=True))
        credentials = credentials_from_token_response(raw, previous)
        provider = self._provider()
        if provider is not None:
            metadata = provider.context.oauth_metadata
            # Where to refresh: the metadata's token endpoint, or the default one a server without metadata
            # (2025-03-26) has at its origin.
            updates: dict[str, Any] = {
                "resource": provider.context.get_resource_url(),
                "token_endpoint": provider._get_token_endpoint(),
            }
            if metadata is not None:
                updates.update(
                    issuer=str(metadata.issuer),
                    revocation_endpoint=str(metadata.revocation_endpoint)
                    if metadata.revocation_endpoint
                    else None,
                )
            credentials = credentials.model_copy(update=updates)
        await self._refresher.save(credentials)

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        credentials = self._refresher.cached()
        if credentials is None or not credentials.client_info:
            return None
        return OAuthClientInformationFull.model_validate(credentials.client_info)

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        credentials = self._refresher.cached() or Credentials()
        info = client_info.model_dump(mode="json", exclude_none=True)
        await self._refresher.save(credentials.model_copy(update={"client_info": info}))


def _wants_authorization(response: httpx2.Response) -> bool:
    if response.status_code == 401:
        return True
    # A token without the scope this request needs: the SDK's flow steps up the scope.
    return _insufficient_scope(response)


def _insufficient_scope(response: httpx2.Response) -> bool:
    return (
        response.status_code == 403 and extract_field_from_www_auth(response, "error") == "insufficient_scope"
    )


def _person_request(request: httpx2.Request) -> bool:
    """Whether the request is one a person made (a tool call, a read), by its JSON-RPC method."""
    method = request.headers.get("mcp-method")
    if method is None:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            return False
        method = body.get("method") if isinstance(body, dict) else None
    return method in PERSON_METHODS


class BridgeAuth(httpx2.Auth):
    requires_request_body = True
    requires_response_body = False

    def __init__(
        self,
        *,
        server_url: str,
        redirect_uri: str,
        refresher: TokenRefresher,
        browser_step: BrowserStepFn | None,
        client_id: str | None = None,
        client_name: str = "Notion MCP Bridge",
        interactive: bool | None = None,
        client_metadata_url: str | None = None,
        cimd_redirect_uri: str | None = None,
    ) -> None:
        """``browser_step`` shows the consent page; it is used for a first sign-in only when ``interactive``
        (the person pressed Connect), and for a step-up whenever a person's own request needs more scope.
        ``client_metadata_url``: the bridge's client ID metadata document, used as the client id where the
        authorization server supports such documents; ``cimd_redirect_uri`` is the redirect it lists."""
        self._refresher = refresher
        self._server_url = server_url
        self._interactive = browser_step is not None if interactive is None else interactive
        self._adapter = _StoreAdapter(refresher, lambda: self._provider)
        self._code: tuple[str, str | None, str | None] | None = None
        self._step_up = contextvars.ContextVar("step_up", default=False)
        self._challenges_answered: set[frozenset[str]] = set()
        """The scope sets a step-up already asked for: the same challenge is never answered twice."""
        self.refusal: str | None = None
        """Why the server's last 403 ``insufficient_scope`` went back to the caller, in words; None after
        a request that succeeds."""

        async def redirect_handler(url: str) -> None:
            if browser_step is None or not (self._interactive or self._step_up.get()):
                raise NeedsAuthorization("the server asks you to sign in: press Connect")
            self._code = await browser_step(url)

        async def callback_handler() -> AuthorizationCodeResult:
            assert self._code is not None
            code, state, iss = self._code
            return AuthorizationCodeResult(code=code, state=state, iss=iss)

        metadata = OAuthClientMetadata(
            client_name=client_name,
            redirect_uris=[redirect_uri],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        )
        self._provider: OAuthClientProvider | None = _Provider(
            server_url,
            metadata,
            self._adapter,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
            client_metadata_url=client_metadata_url,
            cimd_redirect_uri=cimd_redirect_uri,
        )
        self._preregistered_client_id = client_id

    async def prepare(self) -> None:
        """Load (and if due, refresh) stored credentials before the first request."""
        credentials = await self._refresher.fresh()
        if self._preregistered_client_id and (credentials is None or not credentials.client_info):
            # A client id from the person's configuration comes first; registering is the fallback.
            info = {"client_id": self._preregistered_client_id, "redirect_uris": self._provider_redirects()}
            await self._refresher.save(
                (credentials or Credentials()).model_copy(update={"client_info": info})
            )

    def _provider_redirects(self) -> list[str]:
        assert self._provider is not None
        return [str(u) for u in self._provider.context.client_metadata.redirect_uris or []]

    async def async_auth_flow(
        self, request: httpx2.Request
    ) -> AsyncGenerator[httpx2.Request, httpx2.Response]:
        # The SDK's provider holds one lock across every request it sends, which would serialise all calls
        # to a server: it is only brought in for signing in. Everything else is a plain request with our token.
        try:
            credentials = await self._refresher.fresh()
        except ClientRejected:
            await self._forget_registration()
            credentials = None
        token = credentials.access_token if credentials is not None else None
        if token and not self._may_carry_token(request):
            token = None
        if token:
            request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if not _wants_authorization(response):
            if response.status_code < 400:
                self.refusal = None
            return
        if _insufficient_scope(response) and not self._may_step_up(request, response):
            self._note_refusal(response)
            return  # the refusal goes to the caller as it is
        if token and response.status_code == 401:
            # A token we believed valid was refused: refresh and retry. Two rounds, because the first may
            # only pick up the token another host stored meanwhile, and a server's clock can end a token
            # a moment before its expires_in said; only a token we refreshed ourselves and still see
            # refused means the tokens are dead.
            tried = {token}
            for _ in range(2):
                try:
                    refreshed = await self._refresher.refresh(force=True, rejected_token=token)
                except ClientRejected:
                    await self._forget_registration()
                    refreshed = None
                if refreshed is None or not refreshed.access_token or refreshed.access_token in tried:
                    break
                token = refreshed.access_token
                tried.add(token)
                request.headers["Authorization"] = f"Bearer {token}"
                response = yield request
                if not _wants_authorization(response):
                    return
                if response.status_code != 401:
                    break
            if response.status_code == 401:
                # Forget them (keep the registration) and sign in again.
                await self._refresher.discard(token)
        request.headers.pop("Authorization", None)
        # An async generator cannot delegate with `yield from`: pass each response on by hand.
        assert self._provider is not None
        self._provider._initialized = (
            False  # re-read the store: it may have changed since the provider was made
        )
        provider_token = _flow_provider.set(self._provider)
        step_up_token = self._step_up.set(_insufficient_scope(response))
        try:
            flow = self._provider.async_auth_flow(request)
            outgoing = await flow.__anext__()
            while True:
                response = yield outgoing
                await self._note_token_response(outgoing, response)
                try:
                    outgoing = await flow.asend(response)
                except StopAsyncIteration:
                    if _insufficient_scope(response):
                        self._note_refusal(response)  # still refused after signing in for more
                    return
        finally:
            self._step_up.reset(step_up_token)
            _flow_provider.reset(provider_token)

    def _note_refusal(self, response: httpx2.Response) -> None:
        wanted = extract_field_from_www_auth(response, "scope")
        self.refusal = "the server refused: it needs a permission that was not granted" + (
            f" (scope: {wanted})" if wanted else ""
        )

    def _may_step_up(self, request: httpx2.Request, response: httpx2.Response) -> bool:
        """Whether a 403 ``insufficient_scope`` is answered by signing in again for more scope: only for a
        request the person made, only for scopes not held already, and only once per challenge."""
        challenged = frozenset((extract_field_from_www_auth(response, "scope") or "").split())
        held = self._refresher.cached()
        granted = frozenset((held.scope or "").split()) if held is not None else frozenset()
        if not _person_request(request):
            log.info("a 403 insufficient_scope to the host's own request is not answered with a sign-in")
            return False
        if challenged and challenged <= granted:
            log.info(
                "the server refuses scopes it granted already (%s); not signing in again",
                " ".join(challenged),
            )
            return False
        if challenged in self._challenges_answered:
            log.info("the server asks again for scopes it was given a sign-in for; not signing in again")
            return False
        self._challenges_answered.add(challenged)
        return True

    def _may_carry_token(self, request: httpx2.Request) -> bool:
        """A token goes to the origin of the resource it was issued for, and nowhere else."""
        credentials = self._refresher.cached()
        issued_for = credentials.resource if credentials is not None else None
        allowed = same_origin(str(request.url), issued_for or self._server_url)
        if not allowed:
            log.warning(
                "a request to %s was sent without the stored token: it was issued for another origin",
                request.url.copy_with(query=None, fragment=None),
            )
        return allowed

    async def _forget_registration(self) -> None:
        """invalid_client: the server forgot us. Drop the registration and tokens so the flow registers again."""
        current = self._refresher.cached() or Credentials()
        await self._refresher.save(
            current.model_copy(
                update={
                    "client_info": None,
                    "access_token": None,
                    "refresh_token": None,
                    "previous_refresh_token": None,
                }
            )
        )

    async def _note_token_response(self, request: httpx2.Request, response: httpx2.Response) -> None:
        """Keep the token response's extra fields (Notion's workspace_name) that the SDK's model drops."""
        if request.method != "POST" or response.status_code != 200:
            return
        body = request.content.decode("utf-8", "replace")
        if "grant_type=authorization_code" not in body and "grant_type=refresh_token" not in body:
            return
        try:
            self._adapter.last_token_response = json.loads(await response.aread())
        except ValueError:
            self._adapter.last_token_response = None
