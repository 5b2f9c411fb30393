"""What the popup shows: every server's state and the host-wide notices, sent on every change."""

from __future__ import annotations

from collections.abc import Callable

from host.protocol.events import Send, Status
from host.supervisor import Supervisor


class StatusBoard:
    def __init__(
        self,
        send: Send,
        servers: Callable[[], list[Supervisor]],
        notices: Callable[[], list[str]],
    ) -> None:
        self._send = send
        self._servers = servers
        self._notices = notices

    def snapshot(self) -> Status:
        return Status(servers=[s.snapshot() for s in self._servers()], notices=self._notices())

    def changed(self) -> None:
        self._send(self.snapshot())
