"""Where OAuth credentials live: the OS keychain, or an encrypted file where no keychain exists.

One entry per (browser profile, server), so two profiles never share or clobber each other's tokens. Values
never leave this module except to the OAuth client in the same process: not in frames, not in logs, not in
error messages (``Credentials`` hides them from ``repr``).

The file fallback is AES-GCM with its key in a separate 0600 file. That protects against a copied data file
but not against someone who can read the user's files, which is why the host says so in its status.

Every host process on the machine (one per browser profile, more during a reconnect) shares that file and
rewrites all of it on each change, so each read-modify-write holds a lock on a file beside it: without one,
two hosts saving different entries at once each write back what they read, and one entry silently goes
back to its old value or disappears.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from host import paths
from host.atomic import write_atomic

log = logging.getLogger(__name__)

KEYRING_SERVICE = "notion-mcp-bridge"
FILE_ONLY_NOTICE = (
    "No system keychain is available: tokens are stored in an encrypted file whose key sits beside it, "
    "so they are protected by file permissions only."
)


class Credentials(BaseModel):
    """Everything the host keeps for one (profile, server): tokens, the client registration, and names."""

    model_config = ConfigDict(extra="ignore")

    access_token: str | None = Field(default=None, repr=False)
    refresh_token: str | None = Field(default=None, repr=False)
    previous_refresh_token: str | None = Field(default=None, repr=False)
    """The refresh token that ``refresh_token`` was obtained with. Notion keeps it valid until its successor is
    used, so it is the way back when the successor was retired behind our back (host.oauth.refresher)."""
    token_type: str = "Bearer"
    scope: str | None = None
    expires_at: float | None = None
    """Absolute Unix time; kept by us because the SDK forgets expiry across restarts."""
    issued_at: float | None = None
    client_info: dict[str, Any] | None = Field(default=None, repr=False)
    """The OAuth client registration (client_id, and client_secret for confidential clients)."""
    workspace_name: str | None = None
    workspace_id: str | None = None
    workspace_icon: str | None = None
    """The workspace this sign-in is for, as the server last said (host.workspace): shown while offline too."""
    # Where to refresh and revoke, remembered from the authorization server's metadata at sign-in, so a
    # restarted host can refresh without rediscovering.
    issuer: str | None = None
    token_endpoint: str | None = None
    revocation_endpoint: str | None = None
    resource: str | None = None
    """The resource (RFC 8707: the MCP server's canonical URL) the tokens were issued for. They are sent to
    that origin only."""
    server_uid: str | None = None
    """The configured server (``ServerConfig.uid``) these credentials belong to; another never inherits them."""

    def secrets(self) -> list[str]:
        """The values that must never appear in a frame or a log line."""
        values = [self.access_token, self.refresh_token, self.previous_refresh_token]
        if self.client_info and isinstance(self.client_info.get("client_secret"), str):
            values.append(self.client_info["client_secret"])
        return [v for v in values if v]


class Backend(Protocol):
    name: str
    file_only: bool

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str) -> None: ...
    def delete(self, key: str) -> None: ...


class KeyringBackend:
    file_only = False

    def __init__(self) -> None:
        import keyring

        self._keyring = keyring
        self.name = type(keyring.get_keyring()).__name__

    def get(self, key: str) -> str | None:
        return self._keyring.get_password(KEYRING_SERVICE, key)

    def set(self, key: str, value: str) -> None:
        self._keyring.set_password(KEYRING_SERVICE, key, value)

    def delete(self, key: str) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._keyring.delete_password(KEYRING_SERVICE, key)


class EncryptedFileBackend:
    """All entries in one AES-GCM-sealed JSON file, rewritten atomically on every change."""

    name = "encrypted-file"
    file_only = True

    def __init__(self, folder: Path | None = None) -> None:
        from filelock import FileLock

        self._folder = folder or paths.data_dir()
        self._data = self._folder / "tokens.enc"
        self._keyfile = self._folder / "tokens.key"
        self._lock = threading.Lock()
        # Readers take it too: they then never see a key file without its data, and on Windows a file
        # another process holds open cannot be replaced.
        self._file_lock = FileLock(str(self._folder / "tokens.lock"), mode=0o600)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self._folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        with self._lock, self._file_lock:
            yield

    def _key(self) -> bytes:
        if self._keyfile.exists():
            return base64.b64decode(self._keyfile.read_bytes())
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        # Only ever made under the file lock: two processes each making their own key would leave the
        # data sealed with a key that no longer exists.
        key = AESGCM.generate_key(bit_length=256)
        write_atomic(self._keyfile, base64.b64encode(key))
        return key

    def _load(self) -> dict[str, str]:
        if not self._data.exists():
            return {}
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        blob = self._data.read_bytes()
        plain = AESGCM(self._key()).decrypt(blob[:12], blob[12:], b"notion-mcp-bridge tokens v1")
        loaded = json.loads(plain)
        return loaded if isinstance(loaded, dict) else {}

    def _store(self, entries: dict[str, str]) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        nonce = os.urandom(12)
        sealed = AESGCM(self._key()).encrypt(
            nonce, json.dumps(entries).encode(), b"notion-mcp-bridge tokens v1"
        )
        write_atomic(self._data, nonce + sealed)

    def get(self, key: str) -> str | None:
        with self._locked():
            return self._load().get(key)

    def set(self, key: str, value: str) -> None:
        with self._locked():
            entries = self._load()
            entries[key] = value
            self._store(entries)

    def delete(self, key: str) -> None:
        with self._locked():
            entries = self._load()
            if entries.pop(key, None) is not None:
                self._store(entries)


def choose_backend() -> Backend:
    """The OS keychain when keyring has a real one; otherwise the encrypted file.

    ``NOTION_BRIDGE_TOKEN_STORE=file`` forces the file (tests, and people who prefer it).
    """
    if os.environ.get("NOTION_BRIDGE_TOKEN_STORE") == "file":
        return EncryptedFileBackend()
    try:
        import keyring
        from keyring.backends import fail

        current = keyring.get_keyring()
        if isinstance(current, fail.Keyring) or "null" in type(current).__module__.lower():
            return EncryptedFileBackend()
        return KeyringBackend()
    except Exception as exc:
        log.warning("keychain unavailable (%s); using the encrypted file", type(exc).__name__)
        return EncryptedFileBackend()


class TokenStore:
    """Credentials per (profile, server), on whichever backend this machine offers."""

    def __init__(self, backend: Backend | None = None) -> None:
        self.backend = backend or choose_backend()

    @staticmethod
    def key(profile_id: str, server_id: str) -> str:
        return f"{profile_id}/{server_id}"

    def load(self, profile_id: str, server_id: str) -> Credentials | None:
        raw = self.backend.get(self.key(profile_id, server_id))
        if raw is None:
            return None
        try:
            return Credentials.model_validate_json(raw)
        except ValueError:
            log.warning("stored credentials for %s could not be read; ignoring them", server_id)
            return None

    def save(self, profile_id: str, server_id: str, credentials: Credentials) -> None:
        self.backend.set(self.key(profile_id, server_id), credentials.model_dump_json())

    def forget(self, profile_id: str, server_id: str) -> None:
        self.backend.delete(self.key(profile_id, server_id))
