"""The httpx2 ``Auth`` every remote session goes through.

Order of preference for each request:
1. the stored access token, refreshed by us ahead of expiry (host.oauth.refresher);
2. on a 401 with a token we believed valid: one forced refresh and one retry;
3. otherwise the SDK's ``OAuthClientProvider`` runs the MCP authorization flow — protected-resource metadata,
   authorization-server metadata, client registration, PKCE S256 with ``state`` and ``resource`` — and calls
   the browser step, but only when the person asked to connect. A background reconnect never opens a window:
   it ends in ``needs_auth`` instead.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import httpx2
from mcp.client.auth import OAuthClientProvider
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
            updates: dict[str, Any] = {"resource": provider.context.get_resource_url()}
            if metadata is not None:
                updates.update(
                    issuer=str(metadata.issuer),
                    token_endpoint=str(metadata.token_endpoint),
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
    return response.status_code == 403 and "insufficient_scope" in response.headers.get(
        "www-authenticate", ""
    )


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
    ) -> None:
        self._refresher = refresher
        self._server_url = server_url
        self._interactive = browser_step is not None
        self._adapter = _StoreAdapter(refresher, lambda: self._provider)
        self._code: tuple[str, str | None, str | None] | None = None

        async def redirect_handler(url: str) -> None:
            if browser_step is None:
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
        self._provider: OAuthClientProvider | None = OAuthClientProvider(
            server_url,
            metadata,
            self._adapter,
            redirect_handler=redirect_handler,
            callback_handler=callback_handler,
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
            return
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
        flow = self._provider.async_auth_flow(request)
        outgoing = await flow.__anext__()
        while True:
            response = yield outgoing
            await self._note_token_response(outgoing, response)
            try:
                outgoing = await flow.asend(response)
            except StopAsyncIteration:
                return

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
