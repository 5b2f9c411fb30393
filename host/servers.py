"""The servers this host runs: one supervisor per configured server, found by id.

Local (stdio) servers start at once. Remote ones wait for the extension's ``hello``, which names the browser
profile whose tokens to use, or for a short grace period — signing in with the wrong profile's tokens would be
worse than a second's delay.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable

from host.config import ServerConfig
from host.errors import BridgeError, ErrorCode
from host.oauth.manager import AuthManager
from host.supervisor import Supervisor

log = logging.getLogger(__name__)

#: How long remote servers wait for the extension's hello (its browser profile) before starting anyway.
PROFILE_GRACE_S = 1.0


class ServerSet:
    def __init__(
        self,
        make: Callable[[ServerConfig], Supervisor],
        announce: Callable[[], None],
        auth: AuthManager,
    ) -> None:
        self._make = make
        self._announce = announce
        self._auth = auth
        self._supervisors: dict[str, Supervisor] = {}
        self._remote_started = False

    def get(self, server_id: str) -> Supervisor:
        try:
            return self._supervisors[server_id]
        except KeyError:
            known = ", ".join(sorted(self._supervisors)) or "none"
            raise BridgeError(
                ErrorCode.UNKNOWN_SERVER, f"no server with id {server_id!r} (known: {known})"
            ) from None

    def all(self) -> list[Supervisor]:
        return list(self._supervisors.values())

    def start(self, servers: Iterable[ServerConfig]) -> None:
        """Make a supervisor for each configured server and start the local ones; remote ones follow the
        profile (``set_profile``) or the grace period, whichever comes first."""
        for server in servers:
            self._supervisors[server.id] = self._make(server)
        for supervisor in self._supervisors.values():
            if supervisor.config.kind == "stdio":
                supervisor.start()
        asyncio.get_running_loop().call_later(PROFILE_GRACE_S, self._start_remote)

    def add(self, server: ServerConfig) -> Supervisor:
        supervisor = self._make(server)
        self._supervisors[server.id] = supervisor
        self._announce()
        supervisor.start()
        return supervisor

    async def remove(self, server_id: str) -> None:
        supervisor = self._supervisors.pop(server_id)
        await supervisor.stop()
        self._announce()

    def adopt(self, server: ServerConfig) -> None:
        """A stored change that needs no new session (always-allow, say): the running supervisor takes it."""
        supervisor = self._supervisors.get(server.id)
        if supervisor is not None and supervisor.config.uid == server.uid:
            supervisor.config = server

    def set_profile(self, profile_id: str) -> None:
        """The extension named its browser profile: tokens are that profile's from now on."""
        changed = profile_id != self._auth.profile_id
        self._auth.profile_id = profile_id
        if changed and self._remote_started:
            for supervisor in self._supervisors.values():
                if supervisor.config.kind == "remote" and supervisor.state in ("needs_auth", "error"):
                    supervisor.retry_now()
        self._start_remote()

    def _start_remote(self) -> None:
        if self._remote_started:
            return
        self._remote_started = True
        for supervisor in self._supervisors.values():
            if supervisor.config.kind == "remote":
                supervisor.start()

    async def stop_all(self, timeout_s: float) -> set[asyncio.Future[None]]:
        """Stop every server; returns the stops still running after ``timeout_s``."""
        stops: list[asyncio.Future[None]] = [
            asyncio.ensure_future(s.stop()) for s in self._supervisors.values()
        ]
        if not stops:
            return set()
        _done, pending = await asyncio.wait(stops, timeout=timeout_s)
        return set(pending)
