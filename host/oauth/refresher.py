"""Keeping one server's access token fresh, from any number of host processes at once.

Refresh tokens rotate. Notion's server (Cloudflare's workers-oauth-provider) keeps two valid at a time: the
newest, and the one it was obtained with. Using either issues a new one and retires the other. What that
means for us:

- Two hosts refreshing from the same token both succeed, but the first one's new token is retired by the
  second refresh, and its next refresh ends in ``invalid_grant``. So every refresh happens under an
  in-process lock and a cross-process file lock, and re-reads storage inside them: a host that waited while
  another refreshed finds fresh tokens and does not refresh again.
- A host killed after the server rotated but before our store holds the answer leaves the old refresh
  token in the store. The server still accepts it (it is the "previous" one), so the next host refreshes
  with it and nothing is lost. Writing before asking is impossible (the new token is in the answer), and
  the store's writes are atomic, so the store holds either the old pair or the new one, never half.
- The refresh token a new one was obtained with is kept as ``previous_refresh_token``. If the newest one
  is refused (a duplicate of an old refresh request reached the server late and retired it), one retry
  with the previous token gets a new pair instead of sending the person through sign-in again. This is
  the retry Notion's own client guide describes. A server with single-use refresh tokens refuses that
  too, and then the person is asked to connect again, which is all that is left to do.

The refresh request itself goes through authlib; the SDK's own refresh path is kept out of the way because
it forgets the token's expiry across restarts (python-sdk 1318 / 3250).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

from filelock import AsyncFileLock

from host import paths
from host.errors import BridgeError, ErrorCode
from host.origins import same_origin
from host.token_store import Credentials, TokenStore

log = logging.getLogger(__name__)

#: Refresh once this share of the lifetime has passed...
REFRESH_AT_SHARE = 0.8
#: ...or this long before expiry, whichever comes sooner.
REFRESH_MARGIN_S = 300.0
#: ...but never before this share of the lifetime.
REFRESH_NOT_BEFORE_SHARE = 0.5


class NeedsAuthorization(BridgeError):
    """The person has to sign in (again); the message says why, in words."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.NEEDS_AUTH, message)


# The two below are signals between the refresher and its callers, never shown to anyone.


class RefreshDeferred(Exception):
    """The authorization server could not refresh now (network, 5xx, temporarily_unavailable): back off."""


class ClientRejected(Exception):
    """The authorization server no longer knows our client (invalid_client): register again."""


def refresh_due_at(credentials: Credentials) -> float | None:
    """When to refresh: at 80 % of the lifetime or 5 minutes before expiry, whichever is sooner — but not
    before half the lifetime has passed, so a token shorter-lived than the margin is still used."""
    if credentials.expires_at is None:
        return None
    issued = credentials.issued_at or credentials.expires_at - 3600
    lifetime = max(credentials.expires_at - issued, 0.0)
    sooner = min(issued + lifetime * REFRESH_AT_SHARE, credentials.expires_at - REFRESH_MARGIN_S)
    return max(sooner, issued + lifetime * REFRESH_NOT_BEFORE_SHARE)


def expired(credentials: Credentials, now: float | None = None) -> bool:
    return (
        credentials.expires_at is not None and (time.time() if now is None else now) >= credentials.expires_at
    )


def credentials_from_token_response(
    token: dict[str, Any],
    previous: Credentials | None,
    now: float | None = None,
    *,
    refreshed_with: str | None = None,
) -> Credentials:
    """``refreshed_with``: the refresh token this answer was obtained with (None for a sign-in)."""
    now = time.time() if now is None else now
    expires_in = token.get("expires_in")
    base = previous.model_dump() if previous else {}
    # A server that does not rotate omits refresh_token: keep the one we have.
    refresh_token = token.get("refresh_token") or (previous.refresh_token if previous else None)
    base.update(
        access_token=token["access_token"],
        refresh_token=refresh_token,
        previous_refresh_token=refreshed_with if refreshed_with != refresh_token else None,
        token_type=str(token.get("token_type") or "Bearer").title(),
        scope=token.get("scope") or (previous.scope if previous else None),
        issued_at=now,
        expires_at=now + float(expires_in) if expires_in is not None else None,
    )
    if token.get("workspace_name"):
        base["workspace_name"] = token["workspace_name"]
    if token.get("workspace_id"):
        base["workspace_id"] = token["workspace_id"]
    if isinstance(token.get("workspace_icon"), str):
        base["workspace_icon"] = token["workspace_icon"]
    return Credentials.model_validate(base)


def oauth_client(client_info: dict[str, Any], *, timeout: float) -> Any:
    """An authlib client for our registration, authenticating the way the registration says (a secret with no
    method named is sent the way RFC 8414 says servers take by default: ``client_secret_basic``)."""
    from authlib.integrations.httpx_client import AsyncOAuth2Client

    secret = client_info.get("client_secret")
    method = client_info.get("token_endpoint_auth_method") or ("client_secret_basic" if secret else "none")
    return AsyncOAuth2Client(
        client_id=client_info["client_id"],
        client_secret=secret,
        token_endpoint_auth_method=method,
        revocation_endpoint_auth_method=method,
        timeout=timeout,
    )


@dataclass(frozen=True)
class Binding:
    """Which configured server stored credentials must belong to: its identity and the URL it is reached at."""

    uid: str
    url: str

    def owns(self, credentials: Credentials) -> bool:
        """Whether ``credentials`` were issued to this server (after ``adopt`` for ones stored before
        credentials named their server)."""
        return credentials.server_uid == self.uid and self._same_resource(credentials)

    def adoptable(self, credentials: Credentials) -> bool:
        """Credentials stored before they named their server: theirs if issued at this server's origin."""
        return credentials.server_uid is None and self._same_resource(credentials)

    def _same_resource(self, credentials: Credentials) -> bool:
        # A token set without a resource yet (a registration waiting for its first sign-in) belongs to the
        # uid alone; once tokens exist, the resource they were issued for must be this server's origin.
        issued_for = credentials.resource or credentials.issuer or credentials.token_endpoint
        if issued_for is None:
            return credentials.access_token is None and credentials.refresh_token is None
        return same_origin(issued_for, self.url)


class TokenRefresher:
    """The credentials of one (profile, server), refreshed ahead of expiry and shared across processes.

    With a ``binding``, only credentials issued to that server are ever returned: anything else stored under
    the same key (left by a server since removed, re-added or pointed elsewhere, in this or another browser
    profile's host) is handed to ``on_foreign`` to be revoked and is deleted, never sent.
    """

    def __init__(
        self,
        store: TokenStore,
        profile_id: str,
        server_id: str,
        *,
        binding: Binding | None = None,
        on_refreshed: Callable[[Credentials], None] | None = None,
        on_foreign: Callable[[Credentials], None] | None = None,
    ) -> None:
        self.store = store
        self.profile_id = profile_id
        self.server_id = server_id
        self.binding = binding
        self._on_foreign = on_foreign
        self._lock = asyncio.Lock()
        self._file_lock = AsyncFileLock(
            str(paths.data_dir() / f"refresh-{_safe(profile_id)}-{_safe(server_id)}.lock")
        )
        self._cached: Credentials | None = None
        self._loaded = False
        self._on_refreshed = on_refreshed
        self.refresh_count = 0

    # --- reading --------------------------------------------------------------------------------------

    async def load(self) -> Credentials | None:
        # Under the locks: reading may adopt or delete what is stored, which is a write.
        async with self._lock, self._file_lock:
            self._cached = await asyncio.to_thread(self._read)
        self._loaded = True
        return self._cached

    def _read(self) -> Credentials | None:
        """The stored credentials if they belong to the bound server; foreign ones are deleted (and passed on
        for revocation). Runs in a worker thread, under the refresh locks where the caller holds them."""
        stored = self.store.load(self.profile_id, self.server_id)
        binding = self.binding
        if stored is None or binding is None or binding.owns(stored):
            return stored
        if binding.adoptable(stored):
            adopted = stored.model_copy(update={"server_uid": binding.uid})
            self.store.save(self.profile_id, self.server_id, adopted)
            log.info("%s: stored credentials now name their server", self.server_id)
            return adopted
        log.warning(
            "%s: stored credentials belong to another server (removed, re-added or moved); "
            "they are revoked and deleted, never sent",
            self.server_id,
        )
        self.store.forget(self.profile_id, self.server_id)
        if self._on_foreign is not None and stored.secrets():
            self._on_foreign(stored)
        return None

    def cached(self) -> Credentials | None:
        return self._cached

    async def save(self, credentials: Credentials) -> None:
        if self.binding is not None:
            credentials = credentials.model_copy(update={"server_uid": self.binding.uid})
        async with self._lock, self._file_lock:
            await asyncio.to_thread(self.store.save, self.profile_id, self.server_id, credentials)
            self._cached = credentials

    async def update(self, change: Callable[[Credentials], Credentials]) -> Credentials | None:
        """Change what is stored (not the tokens) under the locks, on the freshest copy: a refresh by this or
        another process meanwhile is kept. Nothing stored: nothing to change, None."""
        async with self._lock, self._file_lock:
            current = await asyncio.to_thread(self._read)
            if current is None:
                self._cached = None
                return None
            changed = change(current)
            if self.binding is not None:
                changed = changed.model_copy(update={"server_uid": self.binding.uid})
            await asyncio.to_thread(self.store.save, self.profile_id, self.server_id, changed)
            self._cached = changed
            return changed

    async def forget(self) -> None:
        async with self._lock, self._file_lock:
            await asyncio.to_thread(self.store.forget, self.profile_id, self.server_id)
            self._cached = None

    # --- refreshing -----------------------------------------------------------------------------------

    def due(self, credentials: Credentials | None = None, now: float | None = None) -> bool:
        credentials = credentials or self._cached
        if credentials is None or not credentials.refresh_token:
            return False
        due_at = refresh_due_at(credentials)
        return due_at is not None and (time.time() if now is None else now) >= due_at

    async def fresh(self) -> Credentials | None:
        """Usable credentials, refreshed first when they are due. None when there are none at all."""
        # Storage is read once; after that another process's changes are picked up inside the refresh lock.
        credentials = self._cached if self._loaded else await self.load()
        if credentials is None or not self.due(credentials):
            return credentials
        # Refreshing is done ahead of expiry, so until expiry the token we have still works: calls need not
        # queue behind a refresh already under way, nor fail because the sign-in server is slow or down.
        if self._lock.locked() and not expired(credentials):
            return credentials
        try:
            return await self.refresh(force=False)
        except RefreshDeferred as exc:
            if expired(credentials):
                raise
            log.info("%s: %s; the current token is still valid", self.server_id, exc)
            return credentials

    async def refresh(self, *, force: bool, rejected_token: str | None = None) -> Credentials | None:
        """Refresh under both locks. ``force`` refreshes even when not due (the server rejected a token we
        believed valid), unless another process has already replaced that token meanwhile."""
        async with self._lock, self._file_lock:
            current = await asyncio.to_thread(self._read)
            self._cached = current
            if current is None or not current.refresh_token:
                return current
            replaced = rejected_token is not None and current.access_token != rejected_token
            if force and replaced and not self.due(current):
                return current  # someone else refreshed while we waited, recently enough to use theirs
            if not force and not self.due(current):
                return current
            refreshed = await self._request_refresh(current)
            await asyncio.to_thread(self.store.save, self.profile_id, self.server_id, refreshed)
            self._cached = refreshed
            self.refresh_count += 1
            log.info("%s: access token refreshed", self.server_id)
        if self._on_refreshed is not None:
            self._on_refreshed(refreshed)
        return refreshed

    async def discard(self, refused_access_token: str) -> None:
        """The server refuses a token we had just refreshed: forget the tokens (keep the registration) so the
        next connect signs in again; unless another process has stored new ones meanwhile."""
        async with self._lock, self._file_lock:
            current = await asyncio.to_thread(self._read)
            if current is not None and current.access_token == refused_access_token:
                current = current.model_copy(
                    update={"access_token": None, "refresh_token": None, "previous_refresh_token": None}
                )
                await asyncio.to_thread(self.store.save, self.profile_id, self.server_id, current)
            self._cached = current

    async def _request_refresh(self, current: Credentials) -> Credentials:
        client_info = current.client_info or {}
        if not current.token_endpoint or not client_info.get("client_id") or not current.refresh_token:
            raise NeedsAuthorization("the stored sign-in is incomplete; connect again")
        used = current.refresh_token
        try:
            token = await self._exchange(current, used)
        except _InvalidGrant:
            if not current.previous_refresh_token:
                await self._forget_refused()
            log.info("%s: the newest refresh token was refused; trying the one before it", self.server_id)
            used = current.previous_refresh_token
            try:
                token = await self._exchange(current, used)
            except _InvalidGrant:
                await self._forget_refused()
        return credentials_from_token_response(token, current, refreshed_with=used)

    async def _forget_refused(self) -> NoReturn:
        await asyncio.to_thread(self.store.forget, self.profile_id, self.server_id)
        self._cached = None
        raise NeedsAuthorization("the sign-in has expired or was revoked; connect again")

    async def _exchange(self, current: Credentials, refresh_token: str) -> dict[str, Any]:
        from authlib.integrations.base_client.errors import OAuthError

        assert current.token_endpoint is not None and current.client_info is not None
        extra: dict[str, str] = {}
        if current.resource:
            extra["resource"] = current.resource
        try:
            async with oauth_client(current.client_info, timeout=20) as client:
                token = await client.refresh_token(
                    current.token_endpoint, refresh_token=refresh_token, **extra
                )
        except OAuthError as exc:
            code = exc.error or ""
            if code == "invalid_grant":
                raise _InvalidGrant from None
            if code == "invalid_client":
                raise ClientRejected("the server no longer knows this app's registration") from None
            if code in ("temporarily_unavailable", "server_error"):
                raise RefreshDeferred(f"the sign-in server is busy ({code}); will retry") from None
            raise NeedsAuthorization(f"refreshing the sign-in failed ({code or 'unknown error'})") from None
        except Exception as exc:
            raise RefreshDeferred(f"could not reach the sign-in server ({type(exc).__name__})") from None
        return dict(token)


class _InvalidGrant(Exception):
    pass


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:64]
