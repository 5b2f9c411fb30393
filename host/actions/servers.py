"""server.add, server.update, server.remove, server.enable: changing which servers exist and run.

Every change is stored first (so it survives the host) and then applied to the running supervisor.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from host import config as config_store
from host.actions.errors import ActionError
from host.config import Config, ServerConfig, reidentified
from host.protocol import ErrorCode, ServerAdd, ServerEnable, ServerRemove, ServerUpdate

if TYPE_CHECKING:
    from host.app import Host


def _derive_id(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:32] or "server"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def _validation_words(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def _store(host: Host, change: Any) -> Config:
    try:
        stored = config_store.update(change)
    except ValidationError as exc:
        raise ActionError(ErrorCode.INVALID_ARGUMENTS, _validation_words(exc)) from None
    host.config = stored
    return stored


async def server_add(host: Host, request: ServerAdd) -> dict[str, Any]:
    fields = request.server.model_dump(exclude_none=True)
    client_secret = fields.pop("client_secret", None)
    taken = {s.id for s in host.config.servers}
    server_id = fields.pop("id", None) or _derive_id(request.server.name, taken)
    if server_id in taken:
        raise ActionError(ErrorCode.SERVER_EXISTS, f"a server with id {server_id!r} already exists")
    try:
        server = ServerConfig(id=server_id, **fields)
    except ValidationError as exc:
        raise ActionError(ErrorCode.INVALID_ARGUMENTS, _validation_words(exc)) from None

    def add(cfg: Config) -> None:
        if cfg.server(server_id) is not None:
            raise ActionError(ErrorCode.SERVER_EXISTS, f"a server with id {server_id!r} already exists")
        cfg.servers.append(server)

    _store(host, add)
    if client_secret and server.client_id:
        # The secret goes where tokens go, never into the configuration file.
        await host.auth.remember_client(server, server.client_id, client_secret)
    host.add_supervisor(server)
    return host.supervisor(server_id).snapshot()


async def server_update(host: Host, request: ServerUpdate) -> dict[str, Any]:
    before = host.supervisor(request.server).config  # unknown id -> unknown_server
    changes = request.changes.model_dump(exclude_unset=True)

    def changed(server: ServerConfig) -> ServerConfig:
        new = reidentified(server, ServerConfig.model_validate({**server.model_dump(), **changes}))
        if new.uid != server.uid:
            # Trust given in this same request is about the new server; only the old one's is dropped.
            new = new.model_copy(update={k: changes[k] for k in ("trusted", "always_allow") if k in changes})
        return new

    def update(cfg: Config) -> Config:
        servers = [changed(s) if s.id == request.server else s for s in cfg.servers]
        return cfg.model_copy(update={"servers": servers})

    stored = _store(host, update)
    server = stored.server(request.server)
    assert server is not None
    supervisor = host.supervisor(request.server)
    if server.uid != before.uid:
        # Another URL or command is another server: stop talking to the old one, then revoke and forget
        # what it was given, before anything can reach the new one.
        await supervisor.stop("connecting")
        await host.auth.revoke_and_forget(before)
    await supervisor.reconfigure(server)
    return {**supervisor.snapshot(), "reidentified": server.uid != before.uid}


async def server_remove(host: Host, request: ServerRemove) -> dict[str, Any]:
    server = host.supervisor(request.server).config

    def remove(cfg: Config) -> None:
        cfg.servers = [s for s in cfg.servers if s.id != request.server]

    _store(host, remove)
    await host.remove_supervisor(request.server)
    revoked = await host.auth.revoke_and_forget(server)
    return {"removed": request.server, "revoked": revoked}


async def server_enable(host: Host, request: ServerEnable) -> dict[str, Any]:
    host.supervisor(request.server)

    def enable(cfg: Config) -> None:
        server = cfg.server(request.server)
        if server is not None:
            server.enabled = request.enabled

    stored = _store(host, enable)
    server = stored.server(request.server)
    if server is None:
        raise ActionError(ErrorCode.UNKNOWN_SERVER, f"no server with id {request.server!r}")
    await host.supervisor(request.server).reconfigure(server)
    return host.supervisor(request.server).snapshot()
