"""The user's configuration: which servers exist, how to reach them, and whether they are enabled.

One JSON file (``paths.config_file()``), shared by every host process of this user (two browser profiles run
two hosts). Every change is a read-modify-write under a cross-process lock and lands with an atomic rename,
so a crash or a concurrent edit never leaves half a file. A file that does not parse is moved aside, never
overwritten, and the reason is reported.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

from filelock import FileLock
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from host import EXTENSION_ID, paths
from host.atomic import write_atomic
from host.errors import BridgeError, ErrorCode, validation_words
from host.origins import origin

log = logging.getLogger(__name__)

NOTION_MCP_URL = "https://mcp.notion.com/mcp"

ServerKind = Literal["remote", "stdio"]
TransportChoice = Literal["auto", "http", "sse"]
RemoteTransport = Literal["http", "sse"]
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]

#: Where the bridge publishes its OAuth client ID metadata document (docs/oauth/client-metadata.json in this
#: repository): the ``client_id`` it uses with authorization servers that support such documents instead of
#: registering. ``oauth.client_metadata_url`` in the configuration changes it; null turns the documents off.
DEFAULT_CLIENT_METADATA_URL = "https://notion-mcp-bridge.github.io/oauth/client-metadata.json"
_HEADER_NAME = re.compile(r"^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,100}$")
#: Headers the transport itself sets; a server's custom headers may not replace them.
_RESERVED_HEADERS = {
    "authorization", "host", "content-length", "content-type", "accept", "connection", "transfer-encoding",
    "mcp-session-id", "mcp-protocol-version", "last-event-id", "cookie",
}  # fmt: skip

_SERVER_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_EXTENSION_ID = re.compile(r"^[a-p]{32}$")


class ServerConfig(BaseModel):
    """One MCP server the user has configured."""

    model_config = ConfigDict(extra="forbid")

    id: str
    uid: str = Field(default_factory=lambda: new_uid(), pattern=r"^[0-9a-f]{16}$")
    """This server's identity, made when it is added and made anew when the way to reach it changes.
    Tokens, the client registration and "always allow" belong to it: a server removed and added again under
    the same id, or pointed at another URL or command, starts with none of them."""
    name: str = Field(min_length=1, max_length=80)
    kind: ServerKind
    enabled: bool = True
    trusted: bool = False
    """The person trusts this server's tool annotations: its ``readOnlyHint`` may then skip approval in chat.
    Hints from any other server are only hints (the MCP spec's rule for servers a client does not trust)."""
    # remote
    url: str | None = None
    transport: TransportChoice = "auto"
    client_id: str | None = None
    """A pre-registered OAuth client id; without one the host registers dynamically."""
    detected_transport: RemoteTransport | None = None
    """Learned, not chosen: the transport that worked last time with ``transport: auto``, tried first next time."""
    # stdio
    command: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cwd: str | None = None
    builtin: Literal["sqlite"] | None = None
    """The built-in SQLite server: the command is derived at run time from the interpreter running the host."""
    db_path: str | None = None
    allow_writes: bool = False
    max_result_bytes: int | None = Field(default=None, ge=1024)
    """The built-in SQLite server's limit on a result and on any one value (``--max-result-bytes``);
    unset means the server's default, 4 MiB."""
    statement_timeout_s: float | None = Field(default=None, gt=0)
    """The built-in SQLite server stops any statement running longer (``--statement-timeout-s``);
    unset means the server's default, 30 s."""
    always_allow: list[str] = Field(default_factory=list)
    """Tools the person let the chat agent run without asking each time (revocable in the options page)."""
    disabled_tools: list[str] = Field(default_factory=list)
    """Tools the person switched off: hidden from the chat's model and the tool runner, and refused if called."""
    header_names: list[str] = Field(default_factory=list)
    """Custom HTTP headers sent to this (remote) server's origin only; their values are in the keychain."""
    secret_env: list[str] = Field(default_factory=list)
    """Environment variables of this (stdio) server whose values are in the keychain, not in ``env``."""
    roots: list[str] = Field(default_factory=list)
    """Folders this (stdio) server may know about (MCP roots). None listed: the host offers no roots at all."""
    log_level: LogLevel | None = None
    """The lowest level of log message the server is asked to send (``logging/setLevel``); unset: ``info``."""

    @field_validator("id")
    @classmethod
    def _id_is_a_slug(cls, value: str) -> str:
        if not _SERVER_ID.match(value):
            raise ValueError(
                "server id must be 1-40 characters of a-z, 0-9, '-' or '_', starting with a letter or digit"
            )
        return value

    @field_validator("url")
    @classmethod
    def _url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("url must start with http:// or https:// and name a host")
        return value

    @field_validator("header_names")
    @classmethod
    def _header_names_valid(cls, value: list[str]) -> list[str]:
        for name in value:
            if not _HEADER_NAME.match(name):
                raise ValueError(f"{name!r} is not an HTTP header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"the {name} header is the bridge's own; it cannot be set per server")
        if len({n.lower() for n in value}) != len(value):
            raise ValueError("a header is named twice")
        return value

    @field_validator("roots")
    @classmethod
    def _roots_are_folders(cls, value: list[str]) -> list[str]:
        for folder in value:
            if not Path(folder).expanduser().is_absolute():
                raise ValueError(f"root {folder!r} is not an absolute folder path")
        return value

    @model_validator(mode="after")
    def _kind_has_its_fields(self) -> ServerConfig:
        if self.kind == "remote" and not self.url:
            raise ValueError("a remote server needs a url")
        if self.kind == "remote" and (self.roots or self.secret_env):
            raise ValueError("roots and secret_env apply to local (stdio) servers only")
        if self.kind == "stdio" and self.header_names:
            raise ValueError("header_names apply to remote servers only")
        if self.kind == "stdio" and self.builtin is None and not self.command:
            raise ValueError("a stdio server needs a command (a list: program and arguments)")
        if self.builtin == "sqlite" and not self.db_path:
            raise ValueError("the SQLite server needs db_path")
        if self.builtin != "sqlite" and (self.max_result_bytes, self.statement_timeout_s) != (None, None):
            raise ValueError(
                "max_result_bytes and statement_timeout_s apply to the built-in SQLite server only"
            )
        return self

    def reach(self) -> str:
        """What identifies the server the person reaches: the URL's origin and path for a remote server,
        the command for a local one. A change of it makes a different server as far as secrets go."""
        if self.kind == "remote":
            assert self.url
            return f"remote {origin(self.url)}{_path_of(self.url)}"
        if self.builtin is not None:
            return f"builtin {self.builtin} {self.db_path}"
        return "stdio " + json.dumps([self.command, self.cwd, sorted(self.env)])

    def launch_command(self) -> list[str]:
        """The argv that starts this stdio server."""
        if self.builtin == "sqlite":
            argv = [sys.executable, "-m", "host.sqlite_server", "--db", str(self.db_path)]
            if self._is_the_sample():
                argv.append("--create-sample")
            if self.allow_writes:
                argv.append("--allow-writes")
            if self.max_result_bytes is not None:
                argv += ["--max-result-bytes", str(self.max_result_bytes)]
            if self.statement_timeout_s is not None:
                argv += ["--statement-timeout-s", repr(self.statement_timeout_s)]
            return argv
        assert self.command, "validated above"
        return list(self.command)

    def _is_the_sample(self) -> bool:
        """Whether this is the default sample database, which the server makes when it is missing (a new
        user's defaults must work with no set-up); any other missing database is an error."""
        assert self.db_path
        return Path(self.db_path).expanduser().resolve() == paths.sample_database().resolve()


def new_uid() -> str:
    return secrets.token_hex(8)


def _path_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).path.rstrip("/") or "/"


def reidentified(server: ServerConfig, changed: ServerConfig) -> ServerConfig:
    """``changed`` as the new server it is when its reach differs from ``server``'s: a new uid, and none of
    the trust and the secrets the person gave the old one (its header values and secret variables stay with
    the old identity, and are deleted). Otherwise ``changed`` unaltered."""
    if changed.reach() == server.reach():
        return changed
    return changed.model_copy(
        update={"uid": new_uid(), "always_allow": [], "trusted": False, "header_names": [], "secret_env": []}
    )


class LimitsConfig(BaseModel):
    """Bounds on what a remote server may send, so a broken or hostile one cannot exhaust the host."""

    model_config = ConfigDict(extra="forbid")

    max_event_mib: int = Field(default=16, ge=1, le=256)
    """The largest single SSE event (one MCP message) taken from a remote server, in MiB."""


class OAuthConfig(BaseModel):
    """How the bridge introduces itself to authorization servers."""

    model_config = ConfigDict(extra="forbid")

    client_metadata_url: str | None = DEFAULT_CLIENT_METADATA_URL
    """The bridge's client ID metadata document: used as the ``client_id`` where the authorization server
    supports such documents (``client_id_metadata_document_supported``). An HTTPS URL with a path; null
    means always register dynamically."""

    @field_validator("client_metadata_url")
    @classmethod
    def _https_with_path(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is not None:
            parts = urlsplit(value)
            if parts.scheme != "https" or parts.path in ("", "/"):
                raise ValueError("the client metadata document's URL must be https:// with a path")
        return value


OPENROUTER_URL = "https://openrouter.ai/api/v1"
#: The model a new user gets on OpenRouter: free, and able to call tools.
OPENROUTER_DEFAULT_MODEL = "z-ai/glm-4.5-air:free"


class LLMConfig(BaseModel):
    """The chat agent's model endpoint. The API key is never stored here: it lives in the keychain."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = OPENROUTER_URL
    model: str = OPENROUTER_DEFAULT_MODEL
    system_prompt: str | None = Field(default=None, max_length=20_000)
    """The person's own system prompt; None for the default (host.agent.prompt)."""
    context_lengths: dict[str, int] = Field(default_factory=dict)
    """Model id -> its context in tokens, set by the person for models whose endpoint does not say."""
    summarize: bool = False
    """Summarise turns that no longer fit the model's context, rather than only leaving them out."""

    @field_validator("context_lengths")
    @classmethod
    def _contexts_sensible(cls, value: dict[str, int]) -> dict[str, int]:
        for model, size in value.items():
            if not 512 <= size <= 10_000_000:
                raise ValueError(f"the context of {model!r} must be between 512 and 10,000,000 tokens")
        return value


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    servers: list[ServerConfig] = Field(default_factory=list)
    allowed_extension_ids: list[str] = Field(default_factory=list)
    """Extension IDs besides the shipped one that may start this host (``install --extension-id``)."""
    llm: LLMConfig = Field(default_factory=LLMConfig)
    limits: LimitsConfig = Field(default_factory=LimitsConfig)
    oauth: OAuthConfig = Field(default_factory=OAuthConfig)

    @field_validator("allowed_extension_ids")
    @classmethod
    def _extension_ids_valid(cls, value: list[str]) -> list[str]:
        for ext_id in value:
            if not _EXTENSION_ID.match(ext_id):
                raise ValueError(f"{ext_id!r} is not an extension id (32 letters a-p)")
        return value

    @model_validator(mode="after")
    def _ids_unique(self) -> Config:
        seen: set[str] = set()
        uids: set[str] = set()
        for server in self.servers:
            if server.id in seen:
                raise ValueError(f"two servers share the id {server.id!r}")
            if server.uid in uids:
                raise ValueError(f"two servers share the uid {server.uid!r}")
            seen.add(server.id)
            uids.add(server.uid)
        return self

    def server(self, server_id: str) -> ServerConfig | None:
        return next((s for s in self.servers if s.id == server_id), None)

    def allowed_origins(self) -> set[str]:
        ids = {EXTENSION_ID, *self.allowed_extension_ids}
        return {f"chrome-extension://{ext_id}/" for ext_id in ids}


def default_config() -> Config:
    """What a new user gets: Notion (off until they connect) and the sample SQLite database (on)."""
    return Config(
        servers=[
            ServerConfig(id="notion", name="Notion", kind="remote", url=NOTION_MCP_URL, enabled=False),
            ServerConfig(
                id="sqlite",
                name="SQLite (sample)",
                kind="stdio",
                builtin="sqlite",
                db_path=str(paths.sample_database()),
                enabled=True,
            ),
        ]
    )


class ConfigError(BridgeError):
    """The stored configuration could not be used; the message says why and where the file went."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.CONFIG_ERROR, message)


def _lock(path: Path) -> FileLock:
    return FileLock(str(path) + ".lock", timeout=10)


def _read(path: Path) -> Config:
    if not path.exists():
        return default_config()
    text = path.read_text(encoding="utf-8")
    try:
        config = Config.model_validate_json(text)
    except ValidationError as exc:
        aside = path.with_name(f"{path.name}.broken-{int(time.time())}")
        os.replace(path, aside)
        raise ConfigError(
            f"the configuration file was invalid and was moved to {aside.name}; defaults are in use: "
            f"{validation_words(exc)}"
        ) from None
    if _lacks_uids(text):
        # Written before servers had identities: give each one now and store them, so that every host
        # reading this file from here on agrees on them (a uid made up per read would orphan tokens).
        _write(path, config)
    return config


def _lacks_uids(text: str) -> bool:
    try:
        servers = json.loads(text).get("servers", [])
    except (ValueError, AttributeError):
        return False
    return any(isinstance(s, dict) and "uid" not in s for s in servers)


def _write(path: Path, config: Config) -> None:
    write_atomic(path, (config.model_dump_json(indent=2) + "\n").encode("utf-8"))


def load(path: Path | None = None) -> Config:
    """Read the configuration (defaults when there is none yet). Raises ConfigError for a broken file."""
    path = path or paths.config_file()
    with _lock(path):
        return _read(path)


def update(change: Callable[[Config], Config | None], path: Path | None = None) -> Config:
    """Apply ``change`` to the freshest stored config under the lock and store the result atomically.

    ``change`` may mutate its argument and return None, or return a new Config; it is validated again before
    anything is written, so a change that breaks a rule raises and leaves the file as it was.
    """
    path = path or paths.config_file()
    with _lock(path):
        try:
            current = _read(path)
        except ConfigError:
            current = default_config()
        changed = change(current) or current
        validated = Config.model_validate(changed.model_dump())
        _write(path, validated)
        return validated


def allow_extension_ids(ext_ids: list[str], path: Path | None = None) -> Config:
    """Let extra extension IDs start the host (used by ``install --extension-id``)."""

    def add(config: Config) -> None:
        for ext_id in ext_ids:
            if ext_id != EXTENSION_ID and ext_id not in config.allowed_extension_ids:
                config.allowed_extension_ids.append(ext_id)

    return update(add, path)


def dumps_public(config: Config) -> str:
    """The configuration as JSON for display; it holds no secrets by construction."""
    return json.dumps(config.model_dump(mode="json"), indent=2)


class ConfigStore:
    """The configuration one host works with: the stored one, read at start, and every change written
    through (under the cross-process lock) before it is used."""

    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self.notices: list[str] = []
        """Why the stored configuration was not used, when it was not (shown in the status)."""
        try:
            self.current = load(path)
        except ConfigError as exc:
            self.notices.append(exc.message)
            self.current = default_config()

    def update(self, change: Callable[[Config], Config | None]) -> Config:
        """Apply and store ``change``; a change that breaks a rule is ``invalid_arguments`` with the rule, one
        that cannot be stored (the file or its lock unusable) is ``config_error``, and nothing changes."""
        try:
            self.current = update(change, self._path)
        except ValidationError as exc:
            raise BridgeError(ErrorCode.INVALID_ARGUMENTS, validation_words(exc)) from None
        except OSError as exc:  # includes the lock's Timeout
            raise ConfigError(
                f"the configuration could not be stored ({type(exc).__name__}: {exc}); nothing was changed"
            ) from None
        return self.current

    def server(self, server_id: str) -> ServerConfig | None:
        return self.current.server(server_id)

    def remember_transport(self, server_id: str, transport: RemoteTransport) -> None:
        """Store the transport that worked for a server set to ``auto``, so it is tried first next time."""

        def remember(config: Config) -> None:
            stored = config.server(server_id)
            if stored is not None:
                stored.detected_transport = transport

        try:
            self.update(remember)
        except Exception as exc:  # remembering is an optimisation; never fail a connection over it
            log.warning("%s: could not remember the transport: %s", server_id, exc)
