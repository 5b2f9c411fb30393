"""server.add, server.update, server.remove, server.enable: changing which servers exist and run.

Every change is stored first (so it survives the host) and then applied to the running supervisor.
"""

from __future__ import annotations

import asyncio
import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, ValidationError
from typing_extensions import TypedDict

from host.config import Config, LogLevel, ServerConfig, ServerKind, TransportChoice, reidentified
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
    headers: dict[str, str] = Field(default_factory=dict, repr=False)
    """Custom HTTP headers for a remote server, sent to its origin only: values go to the keychain, the
    configuration keeps their names (``header_names``)."""
    secret_env: dict[str, str] = Field(default_factory=dict, repr=False)
    """Environment variables of a local server whose values are secret: kept in the keychain, the
    configuration keeps their names (``secret_env``)."""
    roots: list[str] = Field(default_factory=list)
    """Folders a local server may know about (MCP roots); none: no roots are offered."""
    disabled_tools: list[str] = Field(default_factory=list)
    log_level: LogLevel | None = None


class ServerAdd(Request):
    """Add a server; the host gives it a new ``uid`` and starts it. Its ``id`` is derived from the name when
    absent."""

    type: Literal["server.add"]
    server: NewServer


def derive_id(name: str, taken: set[str]) -> str:
    """A server id from a name: lower case, dashes, and a number when the id is taken."""
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32] or "server"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


@handles(ServerAdd)
async def server_add(services: Services, request: ServerAdd) -> ServerStatus:
    fields = request.server.model_dump(exclude_none=True)
    client_secret = fields.pop("client_secret", None)
    headers = {k: v for k, v in fields.pop("headers", {}).items() if v}
    secret_env = {k: v for k, v in fields.pop("secret_env", {}).items() if v}
    fields["header_names"] = sorted(headers)
    fields["secret_env"] = sorted(secret_env)
    taken = {s.id for s in services.config.current.servers}
    server_id = fields.pop("id", None) or derive_id(request.server.name, taken)
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
    if headers or secret_env:
        await asyncio.to_thread(services.secrets.update, server, headers=headers, env=secret_env, keep=False)
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
    client_secret: str | None = Field(default=None, repr=False)
    """A new secret for the pre-registered client (keychain only)."""
    headers: dict[str, str] | None = Field(default=None, repr=False)
    """Custom headers to set (a value) or remove (an empty value); headers not named stay as they are."""
    secret_env: dict[str, str] | None = Field(default=None, repr=False)
    """Secret environment variables to set (a value) or remove (an empty value); others stay as they are."""
    roots: list[str] | None = None
    disabled_tools: list[str] | None = None
    """The tools switched off for this server: hidden from the chat's model and the tool runner."""
    log_level: LogLevel | None = None


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
    client_secret = changes.pop("client_secret", None)
    headers = changes.pop("headers", None) or {}
    secret_env = changes.pop("secret_env", None) or {}

    def names(current: list[str], given: dict[str, str]) -> list[str]:
        kept = [n for n in current if n not in given or given[n]]
        return sorted({*kept, *(n for n, v in given.items() if v)})

    def changed(server: ServerConfig) -> ServerConfig:
        merged = {**server.model_dump(), **changes}
        merged["header_names"] = names(server.header_names, headers)
        merged["secret_env"] = names(server.secret_env, secret_env)
        new = reidentified(server, ServerConfig.model_validate(merged))
        if new.uid != server.uid:
            # Trust and secrets given in this same request are about the new server; only the old one's
            # are dropped.
            kept: dict[str, Any] = {k: changes[k] for k in ("trusted", "always_allow") if k in changes}
            kept["header_names"] = names([], headers)
            kept["secret_env"] = names([], secret_env)
            new = new.model_copy(update=kept)
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
    if server.uid != before.uid or headers or secret_env:
        await asyncio.to_thread(
            services.secrets.update,
            server,
            headers=headers,
            env=secret_env,
            keep=server.uid == before.uid,
        )
    if client_secret and server.client_id:
        await services.auth.remember_client(server, server.client_id, client_secret)
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
    await asyncio.to_thread(services.secrets.forget, request.server)
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
