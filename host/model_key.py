"""The chat model's API key: in the keychain (or the encrypted file), bound to the endpoint it was entered for.

The key is stored with the origin of the ``base_url`` it was given with, and is only ever handed out for that
origin. Pointing the chat at another endpoint forgets it unless a key comes in the same request, so a key
entered for OpenRouter never reaches a server someone typed in later. It is never sent over plain HTTP except
to this machine (a local Ollama, say).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass

from host.errors import BridgeError, ErrorCode
from host.origins import origin, safe_for_secrets
from host.token_store import Backend

log = logging.getLogger(__name__)

ENTRY = "llm/api-key"


def key_refused(message: str) -> BridgeError:
    """A key that would travel somewhere it must not; the message says why and what to do."""
    return BridgeError(ErrorCode.INVALID_ARGUMENTS, f"api_key: {message}")


@dataclass(frozen=True)
class _Stored:
    origin: str | None
    """None for a key stored before keys named their endpoint."""
    key: str


@dataclass(frozen=True)
class KeyChange:
    has_key: bool
    forgotten: bool
    """The stored key was forgotten because the endpoint moved to another origin."""


class ModelKey:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._stored: _Stored | None = None
        self._read = False

    async def _load(self) -> _Stored | None:
        # Read once per host: the keychain can be slow, and only llm.configure changes the key.
        if not self._read:
            raw = await asyncio.to_thread(self._backend.get, ENTRY)
            self._stored = _parse(raw)
            self._read = True
        return self._stored

    async def _save(self, stored: _Stored | None) -> None:
        if stored is None:
            await asyncio.to_thread(self._backend.delete, ENTRY)
        else:
            value = json.dumps({"origin": stored.origin, "key": stored.key})
            await asyncio.to_thread(self._backend.set, ENTRY, value)
        self._stored, self._read = stored, True

    async def for_endpoint(self, base_url: str) -> str | None:
        """The key, if it was entered for ``base_url``'s origin and may travel there; otherwise None."""
        stored = await self._load()
        if stored is None or not safe_for_secrets(base_url):
            return None
        if stored.origin is None:
            # Kept from before keys named their endpoint: it has been going to this endpoint all along,
            # so it stays bound to it from now on.
            stored = _Stored(origin(base_url), stored.key)
            await self._save(stored)
        return stored.key if stored.origin == origin(base_url) else None

    async def has_key_for(self, base_url: str) -> bool:
        return await self.for_endpoint(base_url) is not None

    async def configure(self, base_url: str, api_key: str | None, *, previous_url: str) -> KeyChange:
        """Apply ``llm.configure``: ``api_key`` None keeps the key if the endpoint's origin is unchanged and
        forgets it otherwise; "" forgets it; a value is stored for ``base_url``'s origin. ``previous_url`` is
        the endpoint configured until now."""
        target = origin(base_url)
        if api_key == "":
            await self._save(None)
            return KeyChange(has_key=False, forgotten=False)
        if api_key is not None:
            if not safe_for_secrets(base_url):
                raise key_refused(
                    f"{target} is plain HTTP on another machine: an API key sent there could be read on the "
                    "way. Use an https:// URL, or leave the key empty for a server that needs none"
                )
            await self._save(_Stored(target, api_key))
            return KeyChange(has_key=True, forgotten=False)
        stored = await self._load()
        if stored is None:
            return KeyChange(has_key=False, forgotten=False)
        if stored.origin == target and safe_for_secrets(base_url):
            return KeyChange(has_key=True, forgotten=False)
        if stored.origin is None and safe_for_secrets(base_url) and origin(previous_url) == target:
            # A key from before keys named their endpoint was meant for the endpoint configured until now.
            await self._save(_Stored(target, stored.key))
            return KeyChange(has_key=True, forgotten=False)
        log.info("the chat endpoint moved to another origin; its API key was forgotten")
        await self._save(None)
        return KeyChange(has_key=False, forgotten=True)


def _parse(raw: str | None) -> _Stored | None:
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = None
    if isinstance(value, dict) and isinstance(value.get("key"), str):
        stored_origin = value.get("origin")
        return _Stored(stored_origin if isinstance(stored_origin, str) else None, value["key"])
    return _Stored(None, raw)  # a key stored as plain text by earlier versions
