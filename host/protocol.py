"""Every message between the extension and the host, defined once. docs/protocol.md describes them.

Requests come from the extension as ``{"type": VERB, "id": STR, ...}`` and get exactly one ``reply``.
Events (``hello``, ``status``, ``chunk``, ``error``) go from the host to the extension unasked.
MCP payloads (tools, tool results) travel in MCP's own wire form (camelCase), as the MCP spec defines them.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, field_validator

from host import PROTOCOL_VERSION, __version__
from host.config import ServerKind, TransportChoice

ServerState = Literal["disabled", "connecting", "connected", "needs_auth", "error"]
ActiveTransport = Literal["http", "sse", "stdio"]


class ErrorCode:
    """Slugs for ``error.code``. The message beside each says the cause in words."""

    FRAME_TOO_LARGE = "frame_too_large"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_TYPE = "missing_type"
    MISSING_ID = "missing_id"
    UNKNOWN_VERB = "unknown_verb"
    INVALID_ARGUMENTS = "invalid_arguments"
    DUPLICATE_ID = "duplicate_id"
    UNKNOWN_SERVER = "unknown_server"
    SERVER_EXISTS = "server_exists"
    UNKNOWN_TOOL = "unknown_tool"
    UNKNOWN_CALL = "unknown_call"
    SERVER_DISABLED = "server_disabled"
    NOT_CONNECTED = "not_connected"
    TIMEOUT = "timeout"
    RATE_LIMITED = "rate_limited"
    CANCELLED = "cancelled"
    SESSION_LOST = "session_lost"
    SERVER_ERROR = "server_error"
    CONFIG_ERROR = "config_error"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    NEEDS_AUTH = "needs_auth"
    UNKNOWN_AUTH = "unknown_auth"
    UNKNOWN_ELICITATION = "unknown_elicitation"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    TURN_IN_PROGRESS = "turn_in_progress"
    CHAT_FAILED = "chat_failed"
    NO_MODEL = "no_model"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL = "internal"


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- host -> extension -------------------------------------------------------------------------------


class Hello(_Message):
    """The host's first frame, sent before anything heavy is imported."""

    type: Literal["hello"] = "hello"
    protocol: int = PROTOCOL_VERSION
    host_version: str = __version__


class ErrorInfo(_Message):
    code: str
    message: str


class Reply(_Message):
    type: Literal["reply"] = "reply"
    id: str
    ok: bool
    result: Any = None
    error: ErrorInfo | None = None


class ErrorEvent(_Message):
    """A frame the host could not attribute to a request (no usable id) was rejected."""

    type: Literal["error"] = "error"
    error: ErrorInfo


class ServerInfo(_Message):
    name: str
    version: str | None = None


class ServerStatus(_Message):
    id: str
    name: str
    kind: ServerKind
    enabled: bool
    transport: ActiveTransport | None
    """The transport in use, or last used; None before the first connection."""
    state: ServerState
    error: str | None = None
    """Why the server is in ``error`` or ``needs_auth``, in words."""
    retry_at: float | None = None
    """Unix time of the next reconnection attempt while in ``error``."""
    tools: int = 0
    """How many tools the server offers (``tools.list`` gives them)."""
    server_info: ServerInfo | None = None


class Status(_Message):
    type: Literal["status"] = "status"
    servers: list[ServerStatus]
    notices: list[str] = Field(default_factory=list)
    """Host-wide conditions the person should know about (e.g. a configuration file that was set aside)."""


class AuthOpen(_Message):
    """Ask the extension to run the browser step of OAuth (``chrome.identity.launchWebAuthFlow``)."""

    type: Literal["auth.open"] = "auth.open"
    server: str
    auth_id: str
    url: str


class Chunk(_Message):
    """A slice of a message whose encoding exceeds Chrome's 1 MiB limit; see host.framing.split_message."""

    type: Literal["chunk"] = "chunk"
    stream: str
    seq: int
    last: bool
    data: str


_SURROGATE = re.compile("[\ud800-\udfff]")


def unpaired_surrogate(value: Any, path: str = "") -> str | None:
    """Where ``value`` holds a lone UTF-16 surrogate (JSON's ``"\\ud800"``), or None.

    JSON text may escape one and JavaScript strings may hold one, but it has no UTF-8 form: the configuration,
    the keychain, SQLite and every MCP server would fail to encode it, and a failure while a session encodes a
    request ends that session for everyone. Such text is refused where it enters, with the field named.
    """
    if isinstance(value, str):
        return (path or "text") if _SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = unpaired_surrogate(key, path) or unpaired_surrogate(
                item, f"{path}.{key}" if path else key
            )
            if where is not None:
                return where
    elif isinstance(value, list):
        for index, item in enumerate(value):
            where = unpaired_surrogate(item, f"{path}[{index}]")
            if where is not None:
                return where
    return None


# --- extension -> host -------------------------------------------------------------------------------


class _Request(_Message):
    id: str = Field(min_length=1, max_length=200)


class Ping(_Request):
    type: Literal["ping"]


class HelloRequest(_Request):
    """The extension's first request: which browser profile this is, so tokens are kept per profile."""

    type: Literal["hello"]
    profile_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")


class StatusGet(_Request):
    type: Literal["status.get"]


class ConfigGet(_Request):
    type: Literal["config.get"]


class NewServer(_Message):
    """What ``server.add`` takes: a ServerConfig whose id may be left for the host to derive from the name."""

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


class ServerAdd(_Request):
    type: Literal["server.add"]
    server: NewServer


class ServerChanges(_Message):
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


class ServerUpdate(_Request):
    type: Literal["server.update"]
    server: str
    changes: ServerChanges


class ServerRemove(_Request):
    type: Literal["server.remove"]
    server: str


class ServerEnable(_Request):
    type: Literal["server.enable"]
    server: str
    enabled: bool


class ServerConnect(_Request):
    """Enable and connect now; the browser step of OAuth may run if the server wants a sign-in."""

    type: Literal["server.connect"]
    server: str


class ServerDisconnect(_Request):
    """Disable, revoke the tokens where the server allows it, and forget tokens and registration."""

    type: Literal["server.disconnect"]
    server: str


class AuthResult(_Request):
    """The extension's answer to ``auth.open``: where the sign-in window ended up, or why it did not."""

    type: Literal["auth.result"]
    auth_id: str
    redirect_url: str | None = None
    error: str | None = None


class LLMConfigure(_Request):
    """The chat model's endpoint and model; the API key goes to the keychain, never into the configuration."""

    type: Literal["llm.configure"]
    base_url: str = Field(pattern=r"^https?://")
    model: str = Field(min_length=1)
    api_key: str | None = Field(default=None, repr=False)
    """Absent: keep the stored key. Empty string: forget it."""


class ElicitationRespond(_Request):
    """The person's answer to an ``elicitation.request``."""

    type: Literal["elicitation.respond"]
    elicitation_id: str
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None


class ChatNew(_Request):
    """Start an empty conversation, so a panel knows its conversation's id before its first turn sends events."""

    type: Literal["chat.new"]
    title: str | None = Field(default=None, max_length=120)
    """Absent: the first message's first line names it."""


class ChatSend(_Request):
    """One turn of a conversation; the reply comes when the turn ends, chat.* events stream meanwhile."""

    type: Literal["chat.send"]
    text: str = Field(min_length=1, max_length=100_000)
    conversation_id: str | None = None
    context: dict[str, Any] | None = None
    """What the page offers as context: url, title, selection or readable text."""

    @field_validator("text")
    @classmethod
    def _has_words(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is empty: it holds only spaces or line breaks")
        return text


class ChatCancel(_Request):
    type: Literal["chat.cancel"]
    conversation_id: str


class ChatApprove(_Request):
    """The person's answer to a tool call waiting for approval (``chat.tool`` with status awaiting_approval).

    A model picks its call ids and may pick the same one in two conversations (``call_1``), so an answer names
    both: it reaches the call waiting under that conversation and id, and nothing else.
    """

    type: Literal["chat.approve"]
    conversation_id: str
    call_id: str
    approve: bool
    always: bool = False


class ChatList(_Request):
    type: Literal["chat.list"]


class ChatHistory(_Request):
    type: Literal["chat.history"]
    conversation_id: str


class ChatDelete(_Request):
    type: Literal["chat.delete"]
    conversation_id: str


class ToolsList(_Request):
    type: Literal["tools.list"]
    server: str


class ToolCall(_Request):
    type: Literal["tool.call"]
    server: str
    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    """Defaults to 120 s. The call fails with ``timeout`` after it and the server is told to cancel."""


class ToolCancel(_Request):
    type: Literal["tool.cancel"]
    call_id: str
    """The ``id`` of the ``tool.call`` request to cancel."""


_REQUEST_MODELS = (
    Ping,
    HelloRequest,
    StatusGet,
    ConfigGet,
    ServerAdd,
    ServerUpdate,
    ServerRemove,
    ServerEnable,
    ServerConnect,
    ServerDisconnect,
    AuthResult,
    LLMConfigure,
    ElicitationRespond,
    ChatNew,
    ChatSend,
    ChatCancel,
    ChatApprove,
    ChatList,
    ChatHistory,
    ChatDelete,
    ToolsList,
    ToolCall,
    ToolCancel,
)

Request = Annotated[
    Ping
    | HelloRequest
    | StatusGet
    | ConfigGet
    | ServerAdd
    | ServerUpdate
    | ServerRemove
    | ServerEnable
    | ServerConnect
    | ServerDisconnect
    | AuthResult
    | LLMConfigure
    | ElicitationRespond
    | ChatNew
    | ChatSend
    | ChatCancel
    | ChatApprove
    | ChatList
    | ChatHistory
    | ChatDelete
    | ToolsList
    | ToolCall
    | ToolCancel,
    Field(discriminator="type"),
]

REQUEST_ADAPTER: TypeAdapter[Request] = TypeAdapter(Request)

#: Every verb the host answers, in the order docs/protocol.md lists them.
VERBS: tuple[str, ...] = tuple(
    model.model_fields["type"].annotation.__args__[0]  # type: ignore[union-attr]
    for model in _REQUEST_MODELS
)


def reply_ok(request_id: str, result: Any) -> dict[str, Any]:
    return {"type": "reply", "id": request_id, "ok": True, "result": result}


def reply_error(request_id: str, code: str, message: str) -> dict[str, Any]:
    return {"type": "reply", "id": request_id, "ok": False, "error": {"code": code, "message": message}}


def error_event(code: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"code": code, "message": message}}
