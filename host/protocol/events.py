"""What the host tells the extension unasked: server status, sign-in and servers' questions, the chat's progress.

Frozen dataclasses (host.protocol.wire says why); the nested shapes they carry (a server's status entry) are
TypedDicts, plain JSON that request results share.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from typing_extensions import TypedDict

from host.protocol.wire import OUTGOING, Outgoing, Reply, Send

__all__ = ["Send"]

# --- servers --------------------------------------------------------------------------------------------------

ServerState = Literal["disabled", "connecting", "connected", "needs_auth", "error"]
ActiveTransport = Literal["http", "sse", "stdio"]
Capability = Literal["resources", "subscribe", "prompts", "completions", "logging"]
LogLevel = Literal["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]
ListKind = Literal["tools", "resources", "prompts"]


class ServerInfo(TypedDict):
    name: str
    version: str | None


class WorkspaceInfo(TypedDict):
    """The Notion workspace a server entry is signed in to (host.workspace)."""

    id: str | None
    name: str
    icon: str | None
    """An emoji, or an https image address; None when the server gave none."""


class ServerStatus(TypedDict):
    """One server's card: what it is and how it is, at this moment."""

    id: str
    name: str
    """As configured; for a server that named its workspace, ``<name> · <workspace>``."""
    kind: Literal["remote", "stdio"]
    enabled: bool
    transport: ActiveTransport | None
    """The transport in use, or last used; None before the first connection."""
    state: ServerState
    error: str | None
    """Why the server is in ``error`` or ``needs_auth``, in words."""
    retry_at: float | None
    """Unix time of the next reconnection attempt while in ``error``."""
    tools: int
    """How many tools the server offers (``tools.list`` gives them; tools switched off are not counted)."""
    server_info: ServerInfo | None
    workspace: WorkspaceInfo | None
    """The Notion workspace it serves, when it said which (``notion-fetch`` with the id ``self``)."""
    capabilities: list[Capability]
    """What the server offers beyond tools, from its capabilities: empty until it is connected."""


@dataclass(frozen=True, eq=False)
class Status(Outgoing, type="status"):
    """Every server's state, and host-wide notices; sent at start and after every change."""

    servers: list[ServerStatus]
    notices: list[str]
    """Conditions the person should know about (a configuration file set aside, no system keychain)."""


@dataclass(frozen=True, eq=False)
class AuthOpen(Outgoing, type="auth.open"):
    """Run the browser step of OAuth (``chrome.identity.launchWebAuthFlow``) and answer ``auth.result``."""

    server: str
    auth_id: str
    url: str


@dataclass(frozen=True, eq=False)
class ElicitationRequest(Outgoing, type="elicitation.request"):
    """A server asks the person something in the middle of a call; answered with ``elicitation.respond``."""

    elicitation_id: str
    server: str
    message: str
    requested_schema: dict[str, Any] | None = None
    """A flat JSON schema of what to ask for (form mode)."""
    url: str | None = None
    """A page to open instead (URL mode)."""


@dataclass(frozen=True, eq=False)
class ElicitationClosed(Outgoing, type="elicitation.closed"):
    """That question was answered, or cancelled after waiting too long."""

    elicitation_id: str


# --- what servers report while they work -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ToolProgress(Outgoing, type="tool.progress"):
    """A server's progress report for a call in flight (MCP ``notifications/progress``)."""

    call_id: str
    """The ``id`` of the ``tool.call`` request, or the chat tool card's ``call_id``."""
    progress: float
    total: float | None = None
    """Absent when the server does not know how much there is."""
    message: str | None = None
    conversation_id: str | None = None
    """Set for a chat tool card's call, whose ids are the model's and repeat across conversations."""


@dataclass(frozen=True, eq=False)
class ServerLog(Outgoing, type="server.log"):
    """A log message from a server (MCP ``notifications/message``); ``server.logs`` has the recent ones."""

    KEEP_NONE = frozenset({"data"})

    server: str
    level: LogLevel
    data: Any
    """What the server logged: text, or any JSON value (long values are cut to 16 KiB of JSON text)."""
    logger: str | None = None
    time: float = 0.0
    """Unix time the host received it."""


@dataclass(frozen=True, eq=False)
class ResourceUpdated(Outgoing, type="resource.updated"):
    """A subscribed resource changed (``resources.subscribe``); read it again to see how."""

    server: str
    uri: str


@dataclass(frozen=True, eq=False)
class ListChanged(Outgoing, type="server.list_changed"):
    """A server's tools, resources or prompts changed; ask for the list again."""

    server: str
    list: ListKind


# --- a server asking for the model (sampling) ---------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class SamplingRequest(Outgoing, type="sampling.request"):
    """A server asks for the chat model's answer (MCP ``sampling/createMessage``). Nothing goes to the model
    until the person approves with ``sampling.respond``; the answer then comes back as ``sampling.draft``."""

    sampling_id: str
    server: str
    server_name: str
    messages: list[dict[str, Any]]
    """The conversation the server wants answered, in MCP wire form (``role``, ``content``)."""
    max_tokens: int
    model: str
    """The configured model that would answer."""
    system_prompt: str | None = None
    model_preferences: dict[str, Any] | None = None
    """The server's hints and priorities; the configured model answers whatever they say."""
    temperature: float | None = None
    stop_sequences: list[str] | None = None
    include_context: str | None = None
    """Context the server asked to include; the host includes none."""


@dataclass(frozen=True, eq=False)
class SamplingDraft(Outgoing, type="sampling.draft"):
    """The model's answer to an approved ``sampling.request``, for the person to edit, then send or decline."""

    sampling_id: str
    text: str
    model: str
    stop_reason: str | None = None


@dataclass(frozen=True, eq=False)
class SamplingClosed(Outgoing, type="sampling.closed"):
    """That model request is over: its answer was sent, or it was declined, failed or waited too long."""

    sampling_id: str
    outcome: Literal["sent", "declined", "failed", "timed_out", "cancelled"]
    error: str | None = None
    """Why, when the model failed."""


# --- chat -----------------------------------------------------------------------------------------------------

ToolCallStatus = Literal["awaiting_approval", "running", "done", "denied", "error"]


@dataclass(frozen=True, eq=False)
class ChatDelta(Outgoing, type="chat.delta"):
    """A piece of the model's answer, as it streams."""

    conversation_id: str
    text: str


@dataclass(frozen=True, eq=False)
class ChatTool(Outgoing, type="chat.tool"):
    """A tool call of the chat agent, at each step: waiting for approval, running, done, denied or failed."""

    conversation_id: str
    call_id: str
    status: ToolCallStatus
    tool: str
    server: str | None = None
    server_name: str | None = None
    arguments: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    """The whole MCP result (the model gets at most 8,000 characters of it)."""
    error: str | None = None
    duration_ms: int | None = None


@dataclass(frozen=True, eq=False)
class ChatDone(Outgoing, type="chat.done"):
    """The turn ended with this answer (``stopped`` when the person pressed Stop)."""

    conversation_id: str
    text: str
    stopped: bool | None = None


class UsageFigures(TypedDict):
    prompt_tokens: int
    completion_tokens: int
    cost: float | None
    """US dollars, from the endpoint's prices (``llm.models``); null when they are not known."""


@dataclass(frozen=True, eq=False)
class ChatUsage(Outgoing, type="chat.usage"):
    """What the turn used, sent just before ``chat.done``: tokens in and out of every request the turn made,
    and what the conversation has used so far."""

    conversation_id: str
    model: str
    turn: UsageFigures
    conversation: UsageFigures
    estimated: bool
    """The endpoint reported no usage, so the tokens are the host's own count."""


@dataclass(frozen=True, eq=False)
class ChatContext(Outgoing, type="chat.context"):
    """How a request of the turn fit the model's context, sent before each request to the model."""

    conversation_id: str
    context_length: int
    """The model's context, in tokens: from the endpoint's model list, the person's setting, or the endpoint's
    own words after it refused a request as too long."""
    prompt_tokens: int
    """The request's size as the host counted it (room for the answer is kept besides)."""
    left_out_turns: int
    """How many of the conversation's first turns (a message of the person's and all that followed it) were not
    sent, or were sent only as a summary."""
    summarized: bool
    """Those turns went as a summary written by the model."""
    shortened: int
    """Tool results or images that were shortened or left out of the turns that were sent."""


@dataclass(frozen=True, eq=False)
class ChatError(Outgoing, type="chat.error"):
    """The turn failed; the message says why."""

    conversation_id: str
    message: str


#: The events, in the order docs/protocol.md lists them (replies are not events: they answer a request).
EVENTS: tuple[type[Outgoing], ...] = tuple(cls for cls in OUTGOING.values() if cls is not Reply)
