"""chat.*: conversations with the model, which calls the tools of every connected server.

One turn runs per conversation at a time (``chat.send``, ``chat.regenerate`` and ``chat.edit`` all start one); a
write the model asks for waits for ``chat.approve`` from that conversation (host.agent.agent says which calls
skip the question). Conversations can be renamed, searched and exported as Markdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired

from pydantic import AfterValidator, Field, field_validator
from typing_extensions import TypedDict

from host.errors import BridgeError, ErrorCode
from host.protocol.events import UsageFigures
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


def _has_words(text: str) -> str:
    if not text.strip():
        raise ValueError("the message is empty: it holds only spaces or line breaks")
    return text


#: A message the person sends (chat.send, chat.edit): up to 100,000 characters, not only whitespace.
MessageText = Annotated[str, Field(min_length=1, max_length=100_000), AfterValidator(_has_words)]


def _unknown_conversation(conversation_id: str) -> BridgeError:
    return BridgeError(ErrorCode.UNKNOWN_CONVERSATION, f"no conversation with id {conversation_id!r}")


class ChatNew(Request):
    """Start an empty conversation, so a panel knows its conversation's id before its first turn sends events."""

    type: Literal["chat.new"]
    title: str | None = Field(default=None, max_length=120)
    """Absent: the first message's first line names it."""


class NewConversation(TypedDict):
    conversation_id: str


@handles(ChatNew)
async def chat_new(services: Services, request: ChatNew) -> NewConversation:
    return {"conversation_id": services.chat.agent.history.create(request.title or "")}


class ChatSend(Request):
    """One turn of a conversation; the reply comes when the turn ends, ``chat.*`` events stream meanwhile."""

    type: Literal["chat.send"]
    text: MessageText
    """Not only whitespace."""
    conversation_id: str | None = None
    """Absent: a new conversation."""
    context: dict[str, Any] | None = None
    """What the page offers as context: url, title, selection or readable text."""


class TurnEnded(TypedDict):
    conversation_id: str
    text: str
    stopped: NotRequired[bool]
    """After ``chat.cancel``."""


@handles(ChatSend)
async def chat_send(services: Services, request: ChatSend) -> TurnEnded:
    chat = services.chat.agent
    first_line = request.text.strip().splitlines()[0][:80]
    conversation_id = request.conversation_id
    if conversation_id is None:
        conversation_id = chat.history.create(first_line)
    elif not chat.history.exists(conversation_id):
        raise _unknown_conversation(conversation_id)
    _no_turn_running(services, conversation_id)
    chat.history.name(conversation_id, first_line)
    return await _run_turn(
        services, conversation_id, lambda: chat.turn(conversation_id, request.text, request.context)
    )


def _no_turn_running(services: Services, conversation_id: str) -> None:
    if conversation_id in services.chat.turns:
        # Two turns at once would interleave their messages in one history and race for its approvals.
        raise BridgeError(
            ErrorCode.TURN_IN_PROGRESS,
            "a turn is already running in this conversation; wait for it or press Stop",
        )


async def _run_turn(
    services: Services, conversation_id: str, start: Callable[[], Awaitable[str]]
) -> TurnEnded:
    """Run a turn as the conversation's one turn (chat.cancel finds it); its reply when it ends."""
    turns = services.chat.turns
    turn = asyncio.ensure_future(start())
    turns[conversation_id] = turn
    try:
        text = await turn
    except asyncio.CancelledError:
        if turn.cancelled():
            return {"conversation_id": conversation_id, "text": "(stopped)", "stopped": True}
        raise
    finally:
        turns.pop(conversation_id, None)
    return {"conversation_id": conversation_id, "text": text}


class ChatCancel(Request):
    """Stop the conversation's turn; its history stays valid for the next one."""

    type: Literal["chat.cancel"]
    conversation_id: str


class Cancelled(TypedDict):
    cancelled: bool


@handles(ChatCancel)
async def chat_cancel(services: Services, request: ChatCancel) -> Cancelled:
    turn = services.chat.turns.get(request.conversation_id)
    if turn is None:
        raise BridgeError(ErrorCode.UNKNOWN_CONVERSATION, "that conversation has no turn in progress")
    turn.cancel()
    return {"cancelled": True}


class ChatApprove(Request):
    """The person's answer to a tool call waiting for approval (``chat.tool`` with status awaiting_approval).

    A model picks its call ids and may pick the same one in two conversations (``call_1``), so an answer names
    both: it reaches the call waiting under that conversation and id, and nothing else.
    """

    type: Literal["chat.approve"]
    conversation_id: str
    call_id: str
    approve: bool
    always: bool = False
    """Remember the tool for that server (``always_allow`` in the configuration)."""


class Delivered(TypedDict):
    delivered: bool


@handles(ChatApprove)
async def chat_approve(services: Services, request: ChatApprove) -> Delivered:
    if not services.chat.agent.approvals.answer(
        request.conversation_id, request.call_id, request.approve, request.always
    ):
        raise BridgeError(
            ErrorCode.UNKNOWN_CALL,
            f"no tool call {request.call_id!r} is waiting for approval"
            f" in conversation {request.conversation_id!r}",
        )
    return {"delivered": True}


class ChatList(Request):
    """The conversations, newest first."""

    type: Literal["chat.list"]


class Conversation(TypedDict):
    id: str
    title: str
    created_at: float
    updated_at: float


class Conversations(TypedDict):
    conversations: list[Conversation]


@handles(ChatList)
async def chat_list(services: Services, request: ChatList) -> Conversations:
    return {"conversations": services.chat.agent.history.conversations()}  # type: ignore[typeddict-item]


class ChatHistory(Request):
    """A conversation's messages, as the model saw them (plus ``display`` text for the person's)."""

    type: Literal["chat.history"]
    conversation_id: str


class FitToContext(TypedDict):
    """How the conversation's last request fit the model's context (the fields of ``chat.context``)."""

    context_length: int
    prompt_tokens: int
    left_out_turns: int
    summarized: bool
    shortened: int


class History(TypedDict):
    conversation_id: str
    title: str
    messages: list[dict[str, Any]]
    """Stored messages in order. Besides the API's fields: ``display`` (what the person typed), ``context`` (the
    page it went with), ``synthetic`` (a message the host added: images from a tool, for the model)."""
    usage: UsageFigures
    """What the conversation has used, across every turn it ran."""
    context: FitToContext | None
    """None before its first request."""


@handles(ChatHistory)
async def chat_history(services: Services, request: ChatHistory) -> History:
    history = services.chat.agent.history
    conversation_id = _existing(services, request.conversation_id)
    return {
        "conversation_id": conversation_id,
        "title": history.title(conversation_id),
        "messages": history.messages(conversation_id),
        "usage": history.usage(conversation_id),  # type: ignore[typeddict-item]
        "context": history.context(conversation_id),  # type: ignore[typeddict-item]
    }


def _existing(services: Services, conversation_id: str) -> str:
    if not services.chat.agent.history.exists(conversation_id):
        raise _unknown_conversation(conversation_id)
    return conversation_id


class ChatDelete(Request):
    """Delete a conversation and its messages."""

    type: Literal["chat.delete"]
    conversation_id: str


class Deleted(TypedDict):
    deleted: bool


@handles(ChatDelete)
async def chat_delete(services: Services, request: ChatDelete) -> Deleted:
    if not services.chat.agent.history.delete(request.conversation_id):
        raise _unknown_conversation(request.conversation_id)
    return {"deleted": True}


class ChatRename(Request):
    """Give a conversation another title."""

    type: Literal["chat.rename"]
    conversation_id: str
    title: str = Field(min_length=1, max_length=120)

    @field_validator("title")
    @classmethod
    def _has_words(cls, title: str) -> str:
        if not title.strip():
            raise ValueError("the title is empty: it holds only spaces")
        return title.strip()


class Renamed(TypedDict):
    conversation_id: str
    title: str


@handles(ChatRename)
async def chat_rename(services: Services, request: ChatRename) -> Renamed:
    if not services.chat.agent.history.rename(request.conversation_id, request.title):
        raise _unknown_conversation(request.conversation_id)
    return {"conversation_id": request.conversation_id, "title": request.title}


class ChatSearch(Request):
    """Conversations whose title, or whose person's or model's words, hold the text (any case); newest first."""

    type: Literal["chat.search"]
    query: str = Field(min_length=1, max_length=200)


class Found(Conversation):
    snippet: str
    """The words around the first match."""


class SearchResult(TypedDict):
    conversations: list[Found]


@handles(ChatSearch)
async def chat_search(services: Services, request: ChatSearch) -> SearchResult:
    return {"conversations": services.chat.agent.history.search(request.query)}  # type: ignore[typeddict-item]


class ChatExport(Request):
    """A conversation as Markdown: the person's messages, the answers, tool calls with the start of their
    results, and what it used."""

    type: Literal["chat.export"]
    conversation_id: str


class Exported(TypedDict):
    conversation_id: str
    title: str
    markdown: str


@handles(ChatExport)
async def chat_export(services: Services, request: ChatExport) -> Exported:
    from host.agent.export import to_markdown

    history = services.chat.agent.history
    conversation_id = _existing(services, request.conversation_id)
    title = history.title(conversation_id)
    markdown = to_markdown(title, history.messages(conversation_id), history.usage(conversation_id))
    return {"conversation_id": conversation_id, "title": title, "markdown": markdown}


class ChatRegenerate(Request):
    """Answer the last message again: the last answer (with its tool calls) is replaced by a new turn. What the
    replaced answer cost stays in the conversation's usage."""

    type: Literal["chat.regenerate"]
    conversation_id: str


@handles(ChatRegenerate)
async def chat_regenerate(services: Services, request: ChatRegenerate) -> TurnEnded:
    chat = services.chat.agent
    conversation_id = _existing(services, request.conversation_id)
    _no_turn_running(services, conversation_id)
    last = _last_message_of_the_person(services, conversation_id)
    chat.history.truncate(conversation_id, last + 1)
    return await _run_turn(services, conversation_id, lambda: chat.run(conversation_id))


class ChatEdit(Request):
    """Change the person's last message and answer it anew; everything after it is replaced."""

    type: Literal["chat.edit"]
    conversation_id: str
    text: MessageText
    """Not only whitespace."""
    context: dict[str, Any] | None = None
    """Absent: the page the message first went with, if any, goes with it again."""


@handles(ChatEdit)
async def chat_edit(services: Services, request: ChatEdit) -> TurnEnded:
    from host.agent.agent import user_message

    chat = services.chat.agent
    conversation_id = _existing(services, request.conversation_id)
    _no_turn_running(services, conversation_id)
    last = _last_message_of_the_person(services, conversation_id)
    previous = chat.history.messages(conversation_id)[last]
    context = request.context if request.context is not None else previous.get("context")
    chat.history.truncate(conversation_id, last)
    chat.history.append(conversation_id, user_message(request.text, context))
    return await _run_turn(services, conversation_id, lambda: chat.run(conversation_id))


def _last_message_of_the_person(services: Services, conversation_id: str) -> int:
    messages = services.chat.agent.history.messages(conversation_id)
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user" and not messages[index].get("synthetic"):
            return index
    raise BridgeError(
        ErrorCode.INVALID_ARGUMENTS, "conversation_id: that conversation has no message to answer again"
    )
