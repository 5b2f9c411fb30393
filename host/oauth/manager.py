"""The host's OAuth state: which browser profile is asking, where tokens live, sign-ins in progress."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from host import EXTENSION_ID
from host.config import DEFAULT_CLIENT_METADATA_URL, ServerConfig
from host.model_key import ModelKey
from host.oauth.browser_step import BrowserStep, redirect_uri
from host.oauth.refresher import Binding, TokenRefresher, oauth_client
from host.protocol.events import Send
from host.token_store import FILE_ONLY_NOTICE, Credentials, TokenStore

log = logging.getLogger(__name__)

DEFAULT_PROFILE = "default"


class AuthManager:
    def __init__(self, send: Send, extension_id: str) -> None:
        self.extension_id = extension_id
        self.profile_id = DEFAULT_PROFILE
        self.browser = BrowserStep(send)
        self._store: TokenStore | None = None
        self._refreshers: dict[tuple[str, str, str], TokenRefresher] = {}
        self.on_credentials_changed: Callable[[str], None] | None = None
        self._model_key: ModelKey | None = None
        self._revocations: set[asyncio.Task[bool]] = set()
        self._event_loop: asyncio.AbstractEventLoop | None = None
        self.client_metadata_url: Callable[[], str | None] = lambda: DEFAULT_CLIENT_METADATA_URL
        """The bridge's client ID metadata document (``oauth.client_metadata_url``), None for none."""

    @property
    def store(self) -> TokenStore:
        if self._store is None:
            self._store = TokenStore()
        return self._store

    @property
    def model_key(self) -> ModelKey:
        """The chat model's API key, kept in the same store as tokens and bound to its endpoint's origin."""
        if self._model_key is None:
            self._model_key = ModelKey(self.store.backend)
        return self._model_key

    def notices(self) -> list[str]:
        return [FILE_ONLY_NOTICE] if self.store.backend.file_only else []

    def refresher(self, server: ServerConfig) -> TokenRefresher:
        """The credentials of ``server`` in this profile. Keyed by the server's identity as well as its id, so
        a server that was re-identified (new URL, removed and added again) never sees the old one's."""
        assert server.url, "only remote servers sign in"
        key = (self.profile_id, server.id, server.uid)
        with contextlib.suppress(RuntimeError):
            self._event_loop = asyncio.get_running_loop()
        if key not in self._refreshers:
            server_id = server.id

            def changed(_credentials: Any) -> None:
                if self.on_credentials_changed is not None:
                    self.on_credentials_changed(server_id)

            self._refreshers[key] = TokenRefresher(
                self.store,
                self.profile_id,
                server.id,
                binding=Binding(uid=server.uid, url=server.url),
                on_refreshed=changed,
                on_foreign=self._revoke_later,
            )
        return self._refreshers[key]

    def _revoke_later(self, credentials: Credentials) -> None:
        """Revoke credentials found under a server they do not belong to, at the server that issued them.
        Called from a worker thread; the revocation runs on the loop, and nothing waits for it."""

        def start() -> None:
            task = asyncio.ensure_future(_revoke(credentials))
            self._revocations.add(task)
            task.add_done_callback(self._revocations.discard)

        if credentials.revocation_endpoint and credentials.client_info and self._event_loop is not None:
            self._event_loop.call_soon_threadsafe(start)

    def auth_for(self, server: ServerConfig, *, interactive: bool) -> Any:
        """The httpx2 Auth for one connection attempt to ``server``."""
        from host.oauth.auth import BridgeAuth

        assert server.url
        # The document lists the shipped extension's redirect; another extension ID registers instead.
        document = self.client_metadata_url() if self.extension_id == EXTENSION_ID else None
        return BridgeAuth(
            server_url=server.url,
            redirect_uri=redirect_uri(self.extension_id, server.id),
            refresher=self.refresher(server),
            # Always there for a step-up to more scope during a person's own call; a first sign-in opens
            # the window only when the person pressed Connect (``interactive``).
            browser_step=lambda url: self.browser.run(server.id, url),
            interactive=interactive,
            client_id=server.client_id,
            client_metadata_url=document,
            cimd_redirect_uri=redirect_uri(self.extension_id, "callback") if document else None,
        )

    async def remember_client(self, server: ServerConfig, client_id: str, client_secret: str) -> None:
        """A pre-registered confidential client: its secret is stored with the tokens, in the keychain. How it
        is sent (``client_secret_basic`` or ``client_secret_post``) is decided at sign-in, from the server's
        metadata."""
        refresher = self.refresher(server)
        credentials = await refresher.load() or Credentials()
        info = {"client_id": client_id, "client_secret": client_secret}
        await refresher.save(credentials.model_copy(update={"client_info": info}))

    async def revoke_and_forget(self, server: ServerConfig) -> bool:
        """Revoke the tokens where the server offers revocation, then forget tokens and registration.

        Returns whether the server confirmed a revocation. Forgetting happens either way: a person who
        disconnects, removes a server or points it elsewhere expects nothing of it left on this machine.
        """
        if server.kind != "remote":
            return False
        refresher = self.refresher(server)
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
