"""One error shape for the whole host: a code a program can act on, and words a person can read.

Whatever fails — a frame, a request, a tool call, a sign-in, a turn of the chat — fails with a ``BridgeError``
whose ``code`` is one of ``ErrorCode`` and whose ``message`` names the cause. The reply to a request carries both.
Standard library only: the frame reader raises these before anything heavy is imported.
"""

from __future__ import annotations

from typing import Any


class ErrorCode:
    """Slugs for ``error.code`` (docs/protocol.md lists them with their meaning)."""

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
    UNKNOWN_SAMPLING = "unknown_sampling"
    TOOL_DISABLED = "tool_disabled"
    NOT_OFFERED = "not_offered"
    UNKNOWN_CONVERSATION = "unknown_conversation"
    TURN_IN_PROGRESS = "turn_in_progress"
    CHAT_FAILED = "chat_failed"
    NO_MODEL = "no_model"
    SHUTTING_DOWN = "shutting_down"
    INTERNAL = "internal"

    @classmethod
    def all(cls) -> list[str]:
        return [value for name, value in vars(cls).items() if name.isupper() and isinstance(value, str)]


#: What each code means, for docs/protocol.md (generated from this table).
MEANINGS: dict[str, str] = {
    ErrorCode.FRAME_TOO_LARGE: "an incoming frame declared more than 64 MiB; it was skipped",
    ErrorCode.INVALID_JSON: "the frame was not UTF-8 JSON (or nested too deeply)",
    ErrorCode.NOT_AN_OBJECT: "the frame was JSON but not an object",
    ErrorCode.MISSING_ID: "a request without a string `id` (sent as an `error` event, as there is nothing to reply to)",
    ErrorCode.MISSING_TYPE: "a request without a string `type`",
    ErrorCode.UNKNOWN_VERB: "a `type` the host does not know",
    ErrorCode.INVALID_ARGUMENTS: 'fields missing, of the wrong type, or not allowed, or text holding an unpaired UTF-16 surrogate (`"\\ud800"`, which has no UTF-8 form); the message names the field',
    ErrorCode.DUPLICATE_ID: "a request reused the id of one still in flight",
    ErrorCode.UNKNOWN_SERVER: "no server has that id",
    ErrorCode.SERVER_EXISTS: "a server with that id already exists",
    ErrorCode.UNKNOWN_TOOL: "the server offers no tool of that name",
    ErrorCode.UNKNOWN_CALL: "no call with that id is in flight; for `chat.approve`, no call with that id waits in that conversation",
    ErrorCode.SERVER_DISABLED: "the server is switched off",
    ErrorCode.NOT_CONNECTED: "the server is enabled but has no session now; the message carries its state and last error",
    ErrorCode.TIMEOUT: "the call gave no result within `timeout_s`; the server was told to cancel it",
    ErrorCode.RATE_LIMITED: "the server answered an earlier call with `rate_limited` and `retry_after_seconds`; calls wait that long before they are sent, and fail with this code only when the wait would outlast their `timeout_s`",
    ErrorCode.CANCELLED: "`tool.cancel` ended the call",
    ErrorCode.SESSION_LOST: "the session dropped while the call was in flight; it was not retried",
    ErrorCode.SERVER_ERROR: "the server answered with a protocol error (for example invalid params)",
    ErrorCode.CONFIG_ERROR: "the configuration could not be stored",
    ErrorCode.FORBIDDEN_ORIGIN: "the host was started by an extension it does not serve",
    ErrorCode.NEEDS_AUTH: "`server.connect` ended without a sign-in; the message says why",
    ErrorCode.UNKNOWN_AUTH: "an `auth.result` for a sign-in that is not waiting (already answered, or timed out)",
    ErrorCode.UNKNOWN_ELICITATION: "an `elicitation.respond` for a question that is not waiting",
    ErrorCode.UNKNOWN_SAMPLING: "a `sampling.respond` for a model request that is not waiting for that answer",
    ErrorCode.TOOL_DISABLED: "the person switched that tool off for this server (`disabled_tools`)",
    ErrorCode.NOT_OFFERED: "the server does not offer that: no resources, prompts, completion, subscriptions or logging in its capabilities",
    ErrorCode.UNKNOWN_CONVERSATION: "a chat verb named a conversation that does not exist (or has no turn running, for `chat.cancel`)",
    ErrorCode.TURN_IN_PROGRESS: '`chat.send` on a conversation whose turn is still running: "a turn is already running in this conversation; wait for it or press Stop"',
    ErrorCode.CHAT_FAILED: "the model endpoint failed the turn (401, 429, timeout, unreachable), in words",
    ErrorCode.NO_MODEL: "no API key is set for a model endpoint that needs one",
    ErrorCode.SHUTTING_DOWN: "the host is stopping",
    ErrorCode.INTERNAL: "a bug in the host; the message has the exception's words",
}


class BridgeError(Exception):
    """Something that could not be done; ``code`` is an ``ErrorCode``, ``message`` says why in words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"BridgeError({self.code!r}, {self.message!r})"


def validation_words(exc: Any, *, skip: int = 0) -> str:
    """A pydantic ValidationError's first problem as ``where: what``. ``skip`` drops leading location parts
    (a discriminated union's tag, say) that would only confuse the person reading it."""
    first = exc.errors()[0]
    location = [str(part) for part in first["loc"]]
    where = ".".join(location[skip:]) or ".".join(location)
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}" if where else message
