"""Servers asking the person something in the middle of a call (MCP ``elicitation/create``).

The host forwards the question to the extension as ``elicitation.request`` and waits for the person's
``elicitation.respond``. Nothing answers on the person's behalf: if nobody answers in time, the server is told
the request was cancelled.

One question per server at a time: a server that asks again while its first question is open is told
"cancel" at once, so no server can bury the person in windows.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import mcp_types as types

from host.protocol.events import ElicitationClosed, ElicitationRequest, Send
from host.waiting import Waiting

log = logging.getLogger(__name__)

#: How long a question may wait for the person before the server hears "cancel".
ELICITATION_TIMEOUT_S = float(os.environ.get("NOTION_BRIDGE_ELICITATION_TIMEOUT_S", "600"))


class ElicitationBroker:
    def __init__(self, send: Send) -> None:
        self._send = send
        self._waiting: Waiting[str, _Answer] = Waiting()
        self._open_for: set[str] = set()
        """Servers with a question open."""

    def callback_for(self, server_id: str) -> Callable[..., Any]:
        """The SDK's elicitation callback for one server's session."""

        async def elicit(_context: Any, params: Any) -> types.ElicitResult:
            return await self.ask(server_id, params)

        return elicit

    async def ask(self, server_id: str, params: Any) -> types.ElicitResult:
        if server_id in self._open_for:
            log.info("%s asked a second question while one is open; answered cancel", server_id)
            return types.ElicitResult(action="cancel")
        self._open_for.add(server_id)
        try:
            return await self._ask(server_id, params)
        finally:
            self._open_for.discard(server_id)

    async def _ask(self, server_id: str, params: Any) -> types.ElicitResult:
        elicitation_id = secrets.token_urlsafe(12)
        question = ElicitationRequest(
            elicitation_id=elicitation_id,
            server=server_id,
            message=params.message,
            requested_schema=getattr(params, "requested_schema", None),
            url=getattr(params, "url", None) or None,
        )
        try:
            answer = await self._waiting.ask(
                elicitation_id, timeout_s=ELICITATION_TIMEOUT_S, sent=lambda: self._send(question)
            )
        except TimeoutError:
            answer = _Answer("cancel")
        finally:
            self._send(ElicitationClosed(elicitation_id=elicitation_id))
        if answer.action == "accept":
            return types.ElicitResult(action="accept", content=answer.content or {})
        return types.ElicitResult(action=answer.action)

    def answer(self, elicitation_id: str, action: str, content: dict[str, Any] | None) -> bool:
        return self._waiting.answer(elicitation_id, _Answer(action, content))

    def cancel_all(self) -> None:
        self._waiting.close_all(_Answer("cancel"))


@dataclass(frozen=True)
class _Answer:
    action: Any
    """accept, decline or cancel."""
    content: dict[str, Any] | None = None
