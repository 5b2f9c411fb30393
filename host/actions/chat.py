"""chat.*: conversations with the model, which calls the tools of every connected server.

One turn runs per conversation at a time; a write the model asks for waits for ``chat.approve`` from that
conversation (host.agent.agent says which calls skip the question).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from pydantic import Field, field_validator
from typing_extensions import TypedDict

from host.errors import BridgeError, ErrorCode
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


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
    text: str = Field(min_length=1, max_length=100_000)
    """Not only whitespace."""
    conversation_id: str | None = None
    """Absent: a new conversation."""
    context: dict[str, Any] | None = None
    """What the page offers as context: url, title, selection or readable text."""

    @field_validator("text")
    @classmethod
    def _has_words(cls, text: str) -> str:
        if not text.strip():
            raise ValueError("the message is empty: it holds only spaces or line breaks")
        return text


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
    turns = services.chat.turns
    if conversation_id in turns:
        # Two turns at once would interleave their messages in one history and race for its approvals.
        raise BridgeError(
            ErrorCode.TURN_IN_PROGRESS,
            "a turn is already running in this conversation; wait for it or press Stop",
        )
    chat.history.name(conversation_id, first_line)
    turn = asyncio.ensure_future(chat.turn(conversation_id, request.text, request.context))
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


class History(TypedDict):
    conversation_id: str
    messages: list[dict[str, Any]]


@handles(ChatHistory)
async def chat_history(services: Services, request: ChatHistory) -> History:
    history = services.chat.agent.history
    if not history.exists(request.conversation_id):
        raise _unknown_conversation(request.conversation_id)
    return {"conversation_id": request.conversation_id, "messages": history.messages(request.conversation_id)}


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
