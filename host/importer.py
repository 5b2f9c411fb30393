"""Bringing the servers a person already set up in another MCP client: Claude Desktop's and Cursor's
``mcpServers`` (also Claude Code's ``.mcp.json`` and Windsurf's), and VS Code's ``servers`` (``mcp.json``, or
``mcp.servers`` in its settings).

``plan`` reads such a file and says what would be added, without changing anything: local servers with their
command resolved to an absolute path (the browser starts the host with a minimal PATH, so ``npx`` alone would
not be found), remote ones with their transport; what is already configured is skipped, and everything that
cannot be carried over (VS Code's ``${input:…}`` prompts, say) is named. ``apply`` adds them. Secrets never go
into the configuration: header values, and environment variables whose names say they are secret (``…KEY``,
``…TOKEN``, ``…SECRET``, ``…PASSWORD``…), go to the keychain (host.server_secrets). The preview holds names,
never values.

Used by the options page (``servers.import``) and by ``notion-bridge import FILE``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from host.config import Config, ServerConfig, TransportChoice, new_uid
from host.errors import BridgeError, ErrorCode, validation_words

#: Environment variable names whose values are kept in the keychain rather than the configuration.
SECRET_NAME = re.compile(
    r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|COOKIE)|(^|_)(PAT|PASS|AUTH|SESSION|PRIVATE)(_|$)", re.I
)
#: Where a browser-started host's PATH does not look but people's tools live.
_EXTRA_PATHS = (
    "/usr/local/bin",
    "/opt/homebrew/bin",
    "/opt/local/bin",
    "~/.local/bin",
    "~/.volta/bin",
    "~/.bun/bin",
)
_MINIMAL_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
_TRANSPORTS: dict[str, TransportChoice] = {
    "sse": "sse",
    "http": "http",
    "streamable-http": "http",
    "streamablehttp": "http",
    "streamable_http": "http",
}
_PLACEHOLDER = re.compile(r"\$\{(input|env|workspaceFolder|userHome|config)(?::([^}]*))?\}")


@dataclass
class Planned:
    """One server of the file, as it would be added (or why it is not)."""

    name: str
    """Its name in the file."""
    config: ServerConfig | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    secret_env: dict[str, str] = field(default_factory=dict, repr=False)
    notes: list[str] = field(default_factory=list)
    skipped: str | None = None

    def preview(self) -> dict[str, Any]:
        """What the person is shown: everything but secret values."""
        entry: dict[str, Any] = {"name": self.name, "notes": self.notes}
        if self.skipped:
            entry["skipped"] = self.skipped
        if self.config is not None:
            server = self.config
            entry.update(id=server.id, kind=server.kind, enabled=server.enabled)
            if server.kind == "remote":
                entry.update(url=server.url, transport=server.transport, header_names=server.header_names)
            else:
                entry.update(command=server.command, env=server.env, secret_env=server.secret_env)
                if server.cwd:
                    entry["cwd"] = server.cwd
        return entry


@dataclass
class ImportPlan:
    format: str
    servers: list[Planned]

    def to_add(self) -> list[Planned]:
        return [p for p in self.servers if p.config is not None and not p.skipped]


def parse(text: str) -> tuple[str, dict[str, Any]]:
    """The servers of a Claude Desktop, Cursor or VS Code file, by name, and which format it was."""
    try:
        document = json.loads(_strip_jsonc(text))
    except ValueError as exc:
        raise BridgeError(ErrorCode.INVALID_ARGUMENTS, f"the file is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BridgeError(ErrorCode.INVALID_ARGUMENTS, "the file holds no object of servers")
    if isinstance(document.get("mcpServers"), dict):
        return "mcpServers", document["mcpServers"]
    if isinstance(document.get("servers"), dict):
        return "vscode", document["servers"]
    mcp = document.get("mcp")
    if isinstance(mcp, dict) and isinstance(mcp.get("servers"), dict):
        return "vscode", mcp["servers"]
    raise BridgeError(
        ErrorCode.INVALID_ARGUMENTS,
        'no servers found: expected Claude Desktop\'s or Cursor\'s "mcpServers", or VS Code\'s "servers"',
    )


def plan(text: str, existing: Config, *, search_path: str | None = None) -> ImportPlan:
    """What importing ``text`` would add to ``existing``; nothing is changed."""
    kind, entries = parse(text)
    taken = {s.id for s in existing.servers}
    reaches = {_identity(s): s.id for s in existing.servers}
    planned: list[Planned] = []
    for name, entry in entries.items():
        item = _plan_one(str(name), entry, taken, search_path)
        if item.config is not None and not item.skipped:
            already = reaches.get(_identity(item.config))
            if already is not None:
                item.skipped = f"already configured as {already}"
            else:
                taken.add(item.config.id)
                reaches[_identity(item.config)] = item.config.id
        planned.append(item)
    return ImportPlan(kind, planned)


def _identity(server: ServerConfig) -> str:
    """What makes two servers the same one for importing: the URL, or the command line and its folder (the
    variables may differ: the importer adds the command's folder to PATH, say)."""
    if server.kind == "remote" or server.builtin:
        return server.reach()
    return json.dumps([server.command, server.cwd])


def _plan_one(name: str, entry: Any, taken: set[str], search_path: str | None) -> Planned:
    from host.actions.servers import derive_id

    item = Planned(name)
    if not isinstance(entry, dict):
        item.skipped = "not an object"
        return item
    server_id = derive_id(name, taken)
    enabled = not entry.get("disabled", False)
    kind = str(entry.get("type") or entry.get("transport") or "").lower()
    url = entry.get("url") or entry.get("serverUrl")
    fields: dict[str, Any] = {
        "id": server_id,
        "uid": new_uid(),
        "name": name[:80] or server_id,
        "enabled": enabled,
    }
    if url and kind != "stdio":
        headers = {
            str(k): _value(str(v), f"header {k}", item) for k, v in (entry.get("headers") or {}).items()
        }
        item.headers = {k: v for k, v in headers.items() if v}
        fields.update(
            kind="remote",
            url=_value(str(url), "url", item),
            transport=_TRANSPORTS.get(kind, "auto"),
            header_names=sorted(item.headers),
        )
        if entry.get("command"):
            item.notes.append("has both a URL and a command; the URL is used")
    elif entry.get("command"):
        command = _value(str(entry["command"]), "command", item)
        args = [_value(str(a), "an argument", item) for a in entry.get("args") or []]
        env = {str(k): _value(str(v), f"variable {k}", item) for k, v in (entry.get("env") or {}).items()}
        resolved = _resolve(command, search_path)
        if resolved is None:
            item.notes.append(f"{command} was not found on this computer; install it, or edit the command")
            resolved = command
        elif resolved != command:
            item.notes.append(f"{command} is {resolved}")
        folder = str(Path(resolved).parent)
        if Path(resolved).is_absolute() and folder not in _MINIMAL_PATH and "PATH" not in env:
            # Programs like npx start others (node) from their own folder, by PATH.
            env["PATH"] = os.pathsep.join([folder, *_MINIMAL_PATH])
        item.secret_env = {k: v for k, v in env.items() if SECRET_NAME.search(k) and v}
        fields.update(
            kind="stdio",
            command=[resolved, *args],
            env={k: v for k, v in env.items() if k not in item.secret_env and v},
            secret_env=sorted(item.secret_env),
        )
        if entry.get("cwd"):
            fields["cwd"] = _value(str(entry["cwd"]), "cwd", item)
        if entry.get("envFile"):
            item.notes.append("its envFile is not read; add those variables by hand")
    else:
        item.skipped = "neither a command nor a URL"
        return item
    if item.skipped:
        return item
    try:
        item.config = ServerConfig.model_validate(fields)
    except ValidationError as exc:
        item.skipped = validation_words(exc)
    return item


def _value(text: str, what: str, item: Planned) -> str:
    """``text`` with the placeholders this computer can fill in filled in; the rest noted and left empty."""

    def fill(match: re.Match[str]) -> str:
        kind, argument = match.group(1), match.group(2) or ""
        if kind == "env" and argument in os.environ:
            return os.environ[argument]
        if kind == "userHome":
            return str(Path.home())
        item.notes.append(
            f"{what} needs {match.group(0)}, which only the other client can fill in; set it after importing"
        )
        return ""

    return _PLACEHOLDER.sub(fill, text)


def _resolve(command: str, search_path: str | None) -> str | None:
    if os.path.isabs(command):
        return command if os.access(command, os.X_OK) else None
    if search_path is None:
        extra = [str(Path(p).expanduser()) for p in _EXTRA_PATHS]
        nvm = sorted(Path("~/.nvm/versions/node").expanduser().glob("*/bin"), reverse=True)
        search_path = os.pathsep.join(
            [os.environ.get("PATH", ""), *extra, *map(str, nvm[:1]), *_MINIMAL_PATH]
        )
    return shutil.which(command, path=search_path)


def _strip_jsonc(text: str) -> str:
    """JSON with comments and trailing commas (VS Code's and Cursor's files allow both) as plain JSON."""
    out: list[str] = []
    i, n = 0, len(text)
    in_string = False
    while i < n:
        c = text[i]
        if in_string:
            out.append(c)
            if c == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 1
            elif c == '"':
                in_string = False
        elif c == '"':
            in_string = True
            out.append(c)
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
            continue
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        elif c == "," and re.match(r"\s*(//[^\n]*\s*|/\*.*?\*/\s*)*[}\]]", text[i + 1 :], re.S):
            pass  # a trailing comma
        else:
            out.append(c)
        i += 1
    return "".join(out)
