"""servers.import: bring the servers set up in Claude Desktop, Cursor or VS Code (host.importer).

Sent first without ``apply`` to show what would be added, then with it to add them. Secrets (header values,
secret-looking environment variables) go to the keychain; the preview and the configuration hold their names.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from host.config import Config
from host.errors import BridgeError, ErrorCode
from host.protocol.events import ServerStatus
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


class ServersImport(Request):
    """Read another MCP client's configuration (Claude Desktop's or Cursor's ``mcpServers``, VS Code's
    ``servers``) and say what would be added; with ``apply``, add it."""

    type: Literal["servers.import"]
    text: str = Field(min_length=2, max_length=1_000_000)
    """The file's contents (JSON; comments and trailing commas allowed, as those clients allow them)."""
    apply: bool = False
    """Add the servers (the ones not skipped); otherwise only say what would happen."""


class ImportedServer(TypedDict, total=False):
    name: str
    """The server's name in the file."""
    id: str
    kind: Literal["remote", "stdio"]
    enabled: bool
    url: str
    transport: Literal["auto", "http", "sse"]
    header_names: list[str]
    """Headers whose values go to the keychain."""
    command: list[str]
    """With the program resolved to an absolute path."""
    env: dict[str, str]
    """Variables kept in the configuration (nothing secret-looking)."""
    secret_env: list[str]
    """Variables whose values go to the keychain."""
    cwd: str
    notes: list[str]
    """What the person should know: a resolved command, a value that could not be carried over."""
    skipped: str
    """Why it is not added (already configured, neither a command nor a URL, …)."""


class Imported(TypedDict):
    format: Literal["mcpServers", "vscode"]
    servers: list[ImportedServer]
    added: list[ServerStatus]
    """The servers added (``apply`` only), as their status entries."""


@handles(ServersImport)
async def servers_import(services: Services, request: ServersImport) -> Imported:
    from host.importer import plan

    planned = plan(request.text, services.config.current)
    result: Imported = {
        "format": planned.format,  # type: ignore[typeddict-item]
        "servers": [p.preview() for p in planned.servers],  # type: ignore[misc]
        "added": [],
    }
    if not request.apply:
        return result
    adding = planned.to_add()
    if not adding:
        return result

    def add(config: Config) -> None:
        for item in adding:
            assert item.config is not None
            if config.server(item.config.id) is not None:
                raise BridgeError(
                    ErrorCode.SERVER_EXISTS, f"a server with id {item.config.id!r} already exists"
                )
            config.servers.append(item.config)

    services.config.update(add)
    added: list[Any] = []
    for item in adding:
        assert item.config is not None
        if item.headers or item.secret_env:
            await asyncio.to_thread(
                services.secrets.update, item.config, headers=item.headers, env=item.secret_env, keep=False
            )
        added.append(services.servers.add(item.config).snapshot())
    result["added"] = added
    return result
