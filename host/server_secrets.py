"""A server's own secrets besides OAuth tokens: custom header values (remote) and environment values (stdio).

They live where tokens live (the OS keychain, or the encrypted file), one entry per configured server, never in
the configuration file, which names only the headers and variables (``header_names``, ``secret_env``). Like
tokens, each entry names the server it was given for: its ``uid`` and, for headers, the origin of its URL. A
server that was removed and added again, or pointed at another URL or command, gets a new uid and none of the
old values; headers go to requests for that origin only (host.transports.http).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from host.config import ServerConfig
from host.origins import origin
from host.token_store import Backend

log = logging.getLogger(__name__)


def _key(server_id: str) -> str:
    return f"server-secrets/{server_id}"


@dataclass(frozen=True)
class Secrets:
    headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)

    def values(self) -> list[str]:
        return [v for v in (*self.headers.values(), *self.env.values()) if v]


def _bound_to(server: ServerConfig) -> dict[str, str | None]:
    return {"uid": server.uid, "origin": origin(server.url) if server.url else None}


class ServerSecrets:
    def __init__(self, backend: Backend | Callable[[], Backend]) -> None:
        # A callable is asked on first use: opening the keychain is slow, and many hosts never need it.
        self._backend_source = backend

    @property
    def _backend(self) -> Backend:
        source = self._backend_source
        return source() if callable(source) and not hasattr(source, "get") else source  # type: ignore[return-value]

    def load(self, server: ServerConfig) -> Secrets:
        """The server's secrets, if they were stored for this very server; anything else is deleted."""
        raw = self._backend.get(_key(server.id))
        if not raw:
            return Secrets()
        try:
            stored = json.loads(raw)
            bound = stored.get("bound", {})
            headers = {str(k): str(v) for k, v in (stored.get("headers") or {}).items()}
            env = {str(k): str(v) for k, v in (stored.get("env") or {}).items()}
        except (ValueError, AttributeError, TypeError):
            log.warning(
                "%s: stored header and environment secrets could not be read; ignoring them", server.id
            )
            return Secrets()
        if bound != _bound_to(server):
            log.warning(
                "%s: stored header or environment secrets belong to another server (removed, re-added or "
                "moved); they are deleted, never sent",
                server.id,
            )
            self._backend.delete(_key(server.id))
            return Secrets()
        # Only what the configuration still names: a header or variable taken off the list is not sent.
        return Secrets(
            headers={k: v for k, v in headers.items() if k in server.header_names},
            env={k: v for k, v in env.items() if k in server.secret_env},
        )

    def save(self, server: ServerConfig, secrets: Secrets) -> None:
        if not secrets.headers and not secrets.env:
            self.forget(server.id)
            return
        value = {"bound": _bound_to(server), "headers": secrets.headers, "env": secrets.env}
        self._backend.set(_key(server.id), json.dumps(value))

    def update(
        self,
        server: ServerConfig,
        *,
        headers: dict[str, str] | None = None,
        env: dict[str, str] | None = None,
        keep: bool = True,
    ) -> Secrets:
        """Set (or, with an empty value, remove) some headers and variables; the rest stay unless ``keep`` is
        False. Returns what is stored now."""
        current = self.load(server) if keep else Secrets()
        new_headers = dict(current.headers)
        new_env = dict(current.env)
        for name, value in (headers or {}).items():
            if value:
                new_headers[name] = value
            else:
                new_headers.pop(name, None)
        for name, value in (env or {}).items():
            if value:
                new_env[name] = value
            else:
                new_env.pop(name, None)
        result = Secrets(new_headers, new_env)
        self.save(server, result)
        return result

    def forget(self, server_id: str) -> None:
        self._backend.delete(_key(server_id))
