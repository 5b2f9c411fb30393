"""chat.*: conversations with the model, which calls the tools of every connected server."""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import TYPE_CHECKING, Any

from host import config as config_store
from host import paths
from host.actions.errors import ActionError
from host.protocol import (
    ChatApprove,
    ChatCancel,
    ChatDelete,
    ChatHistory,
    ChatList,
    ChatNew,
    ChatSend,
    ErrorCode,
)

if TYPE_CHECKING:
    from host.agent.agent import ChatAgent
    from host.app import Host

_call_ids = itertools.count(1)


def agent(host: Host) -> ChatAgent:
    """The host's chat agent, made on first use: the model client library is slow to import."""
    if host.chat_agent is not None:
        return host.chat_agent
    from host.agent.agent import ChatAgent, ToolSource
    from host.agent.history import History

    def sources() -> list[ToolSource]:
        found = []
        for supervisor in host.supervisors.values():
            if supervisor.state != "connected":
                continue

            async def call(server_id: str, tool: str, arguments: dict[str, Any]) -> Any:
                return await host.supervisor(server_id).call_tool(
                    f"chat-{next(_call_ids)}", tool, arguments, None
                )

            found.append(
                ToolSource(
                    server_id=supervisor.config.id,
                    name=supervisor.display_name(),
                    tools=supervisor.tools_wire(),
                    call=call,
                    always_allowed=set(supervisor.config.always_allow),
                    # The built-in SQLite server enforces read-only itself; other servers' hints count only
                    # when the person marked the server trusted.
                    trust_hints=supervisor.config.trusted or supervisor.config.builtin == "sqlite",
                    uid=supervisor.config.uid,
                )
            )
        return found

    clients: dict[tuple[str, str], Any] = {}

    async def llm() -> tuple[Any, str]:
        from openai import AsyncOpenAI

        settings = host.config.llm
        # Only the key entered for this endpoint's origin, and only over HTTPS or to this machine.
        key = await host.auth.model_key.for_endpoint(settings.base_url)
        if not key and "openrouter.ai" in settings.base_url:
            raise ActionError(
                ErrorCode.NO_MODEL, "no API key for the chat model: add one in the options page"
            )
        # One client per endpoint and key, kept: a new one per turn costs a TLS context and a fresh connection.
        cache_key = (settings.base_url, key or "")
        if cache_key not in clients:
            clients.clear()
            clients[cache_key] = AsyncOpenAI(
                base_url=settings.base_url,
                api_key=key or "not-needed",
                # Tests shorten it; a person's model gets a minute to start answering.
                timeout=float(os.environ.get("NOTION_BRIDGE_LLM_TIMEOUT_S", "60")),
                max_retries=0,
            )
        return clients[cache_key], settings.model

    def remember_always(server_uid: str, tool: str) -> None:
        # By identity, not id: if the server was pointed elsewhere while the question was open, the answer
        # was about the old one and is not carried over.
        def change(cfg: Any) -> None:
            server = next((s for s in cfg.servers if s.uid == server_uid), None)
            if server is not None and tool not in server.always_allow:
                server.always_allow.append(tool)

        host.config = config_store.update(change)
        stored = next((s for s in host.config.servers if s.uid == server_uid), None)
        if stored is not None and stored.id in host.supervisors:
            host.supervisors[stored.id].config = stored

    created = ChatAgent(
        history=History(paths.data_dir() / "chat.db"),
        send=host.send,
        sources=sources,
        llm=llm,
        remember_always=remember_always,
    )
    host.chat_agent = created
    return created


async def chat_new(host: Host, request: ChatNew) -> dict[str, Any]:
    return {"conversation_id": agent(host).history.create(request.title or "")}


async def chat_send(host: Host, request: ChatSend) -> dict[str, Any]:
    from host.agent.agent import ChatFailed

    chat = agent(host)
    first_line = request.text.strip().splitlines()[0][:80]
    conversation_id = request.conversation_id
    if conversation_id is None:
        conversation_id = chat.history.create(first_line)
    elif not chat.history.exists(conversation_id):
        raise ActionError(ErrorCode.UNKNOWN_CONVERSATION, f"no conversation with id {conversation_id!r}")
    turns = host.chat_turns
    if conversation_id in turns:
        # Two turns at once would interleave their messages in one history and race for its approvals.
        raise ActionError(
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
    except ChatFailed as exc:
        raise ActionError(ErrorCode.CHAT_FAILED, str(exc)) from None
    finally:
        turns.pop(conversation_id, None)
    return {"conversation_id": conversation_id, "text": text}


async def chat_cancel(host: Host, request: ChatCancel) -> dict[str, Any]:
    turn = host.chat_turns.get(request.conversation_id)
    if turn is None:
        raise ActionError(ErrorCode.UNKNOWN_CONVERSATION, "that conversation has no turn in progress")
    turn.cancel()
    return {"cancelled": True}


async def chat_approve(host: Host, request: ChatApprove) -> dict[str, Any]:
    if not agent(host).approvals.answer(
        request.conversation_id, request.call_id, request.approve, request.always
    ):
        raise ActionError(
            ErrorCode.UNKNOWN_CALL,
            f"no tool call {request.call_id!r} is waiting for approval"
            f" in conversation {request.conversation_id!r}",
        )
    return {"delivered": True}


async def chat_list(host: Host, request: ChatList) -> dict[str, Any]:
    return {"conversations": agent(host).history.conversations()}


async def chat_history(host: Host, request: ChatHistory) -> dict[str, Any]:
    chat = agent(host)
    if not chat.history.exists(request.conversation_id):
        raise ActionError(
            ErrorCode.UNKNOWN_CONVERSATION, f"no conversation with id {request.conversation_id!r}"
        )
    return {
        "conversation_id": request.conversation_id,
        "messages": chat.history.messages(request.conversation_id),
    }


async def chat_delete(host: Host, request: ChatDelete) -> dict[str, Any]:
    if not agent(host).history.delete(request.conversation_id):
        raise ActionError(
            ErrorCode.UNKNOWN_CONVERSATION, f"no conversation with id {request.conversation_id!r}"
        )
    return {"deleted": True}
