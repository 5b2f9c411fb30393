"""The host's OAuth state: which browser profile is asking, where tokens live, sign-ins in progress."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from host.config import ServerConfig
from host.oauth.browser_step import BrowserStep, redirect_uri
from host.oauth.refresher import TokenRefresher, oauth_client
from host.token_store import FILE_ONLY_NOTICE, Credentials, TokenStore

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "default"
LLM_KEY_ENTRY = "llm/api-key"
_UNREAD = object()


class AuthManager:
    def __init__(self, send: Callable[[dict[str, Any]], None], extension_id: str) -> None:
        self.extension_id = extension_id
        self.profile_id = DEFAULT_PROFILE
        self.browser = BrowserStep(send)
        self._store: TokenStore | None = None
        self._refreshers: dict[tuple[str, str], TokenRefresher] = {}
        self.on_credentials_changed: Callable[[str], None] | None = None
        self._llm_key: object = _UNREAD

    @property
    def store(self) -> TokenStore:
        if self._store is None:
            self._store = TokenStore()
        return self._store

    def notices(self) -> list[str]:
        return [FILE_ONLY_NOTICE] if self.store.backend.file_only else []

    def refresher(self, server_id: str) -> TokenRefresher:
        key = (self.profile_id, server_id)
        if key not in self._refreshers:

            def changed(_credentials: Any, server_id: str = server_id) -> None:
                if self.on_credentials_changed is not None:
                    self.on_credentials_changed(server_id)

            self._refreshers[key] = TokenRefresher(
                self.store, self.profile_id, server_id, on_refreshed=changed
            )
        return self._refreshers[key]

    def auth_for(self, server: ServerConfig, *, interactive: bool) -> Any:
        """The httpx2 Auth for one connection attempt to ``server``."""
        from host.oauth.auth import BridgeAuth

        assert server.url
        browser_step = (lambda url: self.browser.run(server.id, url)) if interactive else None
        return BridgeAuth(
            server_url=server.url,
            redirect_uri=redirect_uri(self.extension_id, server.id),
            refresher=self.refresher(server.id),
            browser_step=browser_step,
            client_id=server.client_id,
        )

    async def remember_client(self, server_id: str, client_id: str, client_secret: str) -> None:
        """A pre-registered confidential client: its secret is stored with the tokens, in the keychain."""
        refresher = self.refresher(server_id)
        credentials = await refresher.load() or Credentials()
        info = {
            "client_id": client_id,
            "client_secret": client_secret,
            "token_endpoint_auth_method": "client_secret_post",
        }
        await refresher.save(credentials.model_copy(update={"client_info": info}))

    # The chat model's API key lives in the same store as tokens, under its own entry, for every profile.
    async def set_llm_key(self, api_key: str | None) -> None:
        import asyncio

        if api_key:
            await asyncio.to_thread(self.store.backend.set, LLM_KEY_ENTRY, api_key)
        else:
            await asyncio.to_thread(self.store.backend.delete, LLM_KEY_ENTRY)
        self._llm_key = api_key or None

    async def llm_key(self) -> str | None:
        import asyncio

        # Read once per host: the keychain can be slow, and only llm.configure changes the key.
        if self._llm_key is _UNREAD:
            self._llm_key = await asyncio.to_thread(self.store.backend.get, LLM_KEY_ENTRY)
        return self._llm_key  # type: ignore[return-value]

    async def has_llm_key(self) -> bool:
        return bool(await self.llm_key())

    async def revoke_and_forget(self, server_id: str) -> bool:
        """Revoke the tokens where the server offers revocation, then forget tokens and registration.

        Returns whether the server confirmed a revocation. Forgetting happens either way: a person who
        disconnects expects nothing left behind on this machine.
        """
        refresher = self.refresher(server_id)
        credentials = await refresher.load()
        revoked = False
        if credentials is not None and credentials.revocation_endpoint and credentials.client_info:
            revoked = await _revoke(credentials)
        await refresher.forget()
        return revoked


async def _revoke(credentials: Any) -> bool:
    ok = True
    try:
        async with oauth_client(credentials.client_info, timeout=10) as client:
            for token, hint in (
                (credentials.refresh_token, "refresh_token"),
                # Notion keeps the previous refresh token valid too; where revoking one revokes the grant,
                # this one is simply already gone.
                (credentials.previous_refresh_token, "refresh_token"),
                (credentials.access_token, "access_token"),
            ):
                if token:
                    response = await client.revoke_token(
                        credentials.revocation_endpoint, token=token, token_type_hint=hint
                    )
                    ok = ok and response.status_code == 200
    except Exception as exc:
        log.info("revocation failed: %s", type(exc).__name__)
        return False
    return ok
