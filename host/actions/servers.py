"""server.add, server.update, server.remove, server.enable: changing which servers exist and run.

Every change is stored first (so it survives the host) and then applied to the running supervisor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from host.config import Config, ServerConfig, ServerKind, TransportChoice, reidentified
from host.errors import BridgeError, ErrorCode, validation_words
from host.protocol.events import ServerStatus
from host.protocol.verbs import Message, Request, handles

if TYPE_CHECKING:
    from host.services import Services


class NewServer(Message):
    """A server to add: a ServerConfig whose id may be left for the host to derive from the name."""

    id: str | None = None
    name: str
    kind: ServerKind
    enabled: bool = True
    url: str | None = None
    transport: TransportChoice = "auto"
    client_id: str | None = None
    client_secret: str | None = Field(default=None, repr=False)
    """For a pre-registered confidential client: kept in the keychain, never in the configuration."""
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    db_path: str | None = None
    allow_writes: bool = False
    max_result_bytes: int | None = None
    statement_timeout_s: float | None = None
    builtin: Literal["sqlite"] | None = None
    trusted: bool = False


class ServerAdd(Request):
    """Add a server; the host gives it a new ``uid`` and starts it. Its ``id`` is derived from the name when
    absent."""

    type: Literal["server.add"]
    server: NewServer


def _derive_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32] or "server"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@handles(ServerAdd)
async def server_add(services: Services, request: ServerAdd) -> ServerStatus:
    fields = request.server.model_dump(exclude_none=True)
    client_secret = fields.pop("client_secret", None)
    taken = {s.id for s in services.config.current.servers}
    server_id = fields.pop("id", None) or _derive_id(request.server.name, taken)
    if server_id in taken:
        raise BridgeError(ErrorCode.SERVER_EXISTS, f"a server with id {server_id!r} already exists")
    try:
        server = ServerConfig(id=server_id, **fields)
    except ValidationError as exc:
        raise BridgeError(ErrorCode.INVALID_ARGUMENTS, validation_words(exc)) from None

    def add(config: Config) -> None:
        if config.server(server_id) is not None:
            raise BridgeError(ErrorCode.SERVER_EXISTS, f"a server with id {server_id!r} already exists")
        config.servers.append(server)

    services.config.update(add)
    if client_secret and server.client_id:
        # The secret goes where tokens go, never into the configuration file.
        await services.auth.remember_client(server, server.client_id, client_secret)
    return services.servers.add(server).snapshot()


class ServerGet(Request):
    """One server's status entry, now."""

    type: Literal["server.get"]
    server: str


@handles(ServerGet)
async def server_get(services: Services, request: ServerGet) -> ServerStatus:
    return services.servers.get(request.server).snapshot()


class ServerChanges(Message):
    """Fields ``server.update`` may change; absent fields stay as they are."""

    name: str | None = None
    url: str | None = None
    transport: TransportChoice | None = None
    client_id: str | None = None
    command: list[str] | None = None
    env: dict[str, str] | None = None
    cwd: str | None = None
    db_path: str | None = None
    allow_writes: bool | None = None
    max_result_bytes: int | None = None
    """Null puts the SQLite server's limits back to their defaults."""
    statement_timeout_s: float | None = None
    always_allow: list[str] | None = None
    """The tools the chat agent may run without asking; the options page revokes them by sending fewer."""
    trusted: bool | None = None
    """Trust this server's read-only hints to skip approval in chat."""


class ServerUpdate(Request):
    """Change a server. A change to how it is reached starts a new session; a change of URL or command makes it
    a new server: its tokens are revoked and forgotten, and ``always_allow`` and ``trusted`` are reset (unless
    set in the same request)."""

    type: Literal["server.update"]
    server: str
    changes: ServerChanges


class Updated(ServerStatus):
    reidentified: bool
    """The change made it a new server (another URL or command)."""


@handles(ServerUpdate)
async def server_update(services: Services, request: ServerUpdate) -> Updated:
    supervisor = services.servers.get(request.server)
    before = supervisor.config
    changes = request.changes.model_dump(exclude_unset=True)

    def changed(server: ServerConfig) -> ServerConfig:
        new = reidentified(server, ServerConfig.model_validate({**server.model_dump(), **changes}))
        if new.uid != server.uid:
            # Trust given in this same request is about the new server; only the old one's is dropped.
            new = new.model_copy(update={k: changes[k] for k in ("trusted", "always_allow") if k in changes})
        return new

    def update(config: Config) -> Config:
        servers = [changed(s) if s.id == request.server else s for s in config.servers]
        return config.model_copy(update={"servers": servers})

    server = services.config.update(update).server(request.server)
    assert server is not None
    if server.uid != before.uid:
        # Another URL or command is another server: stop talking to the old one, then revoke and forget
        # what it was given, before anything can reach the new one.
        await supervisor.stop("connecting")
        await services.auth.revoke_and_forget(before)
    await supervisor.reconfigure(server)
    return {**supervisor.snapshot(), "reidentified": server.uid != before.uid}


class ServerRemove(Request):
    """Remove a server. Its tokens are revoked where the server offers it, and forgotten either way."""

    type: Literal["server.remove"]
    server: str


class Removed(TypedDict):
    removed: str
    revoked: bool


@handles(ServerRemove)
async def server_remove(services: Services, request: ServerRemove) -> Removed:
    server = services.servers.get(request.server).config

    def remove(config: Config) -> None:
        config.servers = [s for s in config.servers if s.id != request.server]

    services.config.update(remove)
    await services.servers.remove(request.server)
    revoked = await services.auth.revoke_and_forget(server)
    return {"removed": request.server, "revoked": revoked}


class ServerEnable(Request):
    """Switch a server on or off; stored in the configuration."""

    type: Literal["server.enable"]
    server: str
    enabled: bool


@handles(ServerEnable)
async def server_enable(services: Services, request: ServerEnable) -> ServerStatus:
    supervisor = services.servers.get(request.server)

    def enable(config: Config) -> None:
        server = config.server(request.server)
        if server is not None:
            server.enabled = request.enabled

    server = services.config.update(enable).server(request.server)
    if server is None:
        raise BridgeError(ErrorCode.UNKNOWN_SERVER, f"no server with id {request.server!r}")
    await supervisor.reconfigure(server)
    return supervisor.snapshot()
