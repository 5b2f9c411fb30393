"""server.logs, server.log_level: what servers log (MCP ``notifications/message``), and how much of it.

Each server's latest log messages are kept in a ring (host.supervisor.LOG_RING) and each one also goes out as a
``server.log`` event. The level is stored in the server's configuration and asked of the server on every
session: ``logging/setLevel`` on handshake-era servers, on each request for 2026-era ones.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from typing_extensions import TypedDict

from host.config import Config, LogLevel
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


class ServerLogs(Request):
    """The server's latest log messages, oldest first, and the level asked of it."""

    type: Literal["server.logs"]
    server: str


class LogEntry(TypedDict):
    time: float
    level: LogLevel
    logger: str | None
    data: Any


class Logs(TypedDict):
    server: str
    level: LogLevel
    entries: list[LogEntry]
    offered: bool
    """Whether the connected server offers logging at all."""


@handles(ServerLogs)
async def server_logs(services: Services, request: ServerLogs) -> Logs:
    supervisor = services.servers.get(request.server)
    return {
        "server": request.server,
        "level": supervisor.log_level(),
        "entries": list(supervisor.logs),  # type: ignore[arg-type]
        "offered": "logging" in supervisor.capabilities,
    }


class ServerLogLevel(Request):
    """Set the lowest level of log message the server sends; kept in its configuration."""

    type: Literal["server.log_level"]
    server: str
    level: LogLevel


class LevelSet(TypedDict):
    server: str
    level: LogLevel


@handles(ServerLogLevel)
async def server_log_level(services: Services, request: ServerLogLevel) -> LevelSet:
    supervisor = services.servers.get(request.server)

    def store(config: Config) -> None:
        server = config.server(request.server)
        if server is not None:
            server.log_level = request.level

    stored = services.config.update(store).server(request.server)
    assert stored is not None
    await supervisor.reconfigure(stored)
    return {"server": request.server, "level": request.level}
