"""Servers asking for the chat model's answer (MCP ``sampling/createMessage``), with the person in between.

Nothing reaches the model until the person has seen who asks and what (the messages, the system prompt, the
token limit, the server's model preferences) and approved it; nothing reaches the server until the person has
seen the model's answer, edited it if they like, and sent it. Each step is theirs to decline, and a decline is
an error to the server. The model is the chat's (host.chat): the same endpoint, and the same key, which only
ever goes to the endpoint it was entered for.

    sampling.request  ─►  sampling.respond {approve | decline}
    sampling.draft    ─►  sampling.respond {approve, text? | decline}
    sampling.closed   (sent, declined, failed, timed out or cancelled)

The questions reach the person where servers' questions do: the popup, which the background brings up. Like
elicitation, one request per server is open at a time; a second is refused at once.

The request is held to the model's context as the chat reckons it (host.agent): the server's messages are counted
with the chat's counter, and the answer's ``max_tokens`` is lowered to what is left of the context (and to the
model's own cap on an answer). A request whose messages leave no room for an answer is refused before the person
is asked, saying how many tokens it needs and how many the model takes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Protocol

import mcp_types as types

from host.protocol.events import SamplingClosed, SamplingDraft, SamplingRequest, Send
from host.protocol.wire import mcp_wire
from host.waiting import Waiting

if TYPE_CHECKING:
    from host.agent.agent import Endpoint
    from host.agent.tokens import TokenCounter

log = logging.getLogger(__name__)

#: How long each step may wait for the person before the server hears the request was declined.
SAMPLING_TIMEOUT_S = float(os.environ.get("NOTION_BRIDGE_SAMPLING_TIMEOUT_S", "600"))
#: The MCP spec's code for a sampling request the person rejected.
USER_REJECTED = -1

#: The fewest tokens an answer is given room for: a request leaving less is refused before the person is asked.
MIN_ANSWER_TOKENS = 64


class Model(Protocol):
    """The chat's model (host.chat.ChatService): the same endpoint, key and context reckoning as a chat turn."""

    async def model(self) -> Endpoint: ...

    def context_length(self, endpoint: Endpoint) -> int: ...

    def counter(self, endpoint: Endpoint) -> TokenCounter: ...


class TooLong(Exception):
    """The server's messages leave the model no room to answer."""


def answer_room(
    params: types.CreateMessageRequestParams, prompt_tokens: int, context: int, max_completion: int | None
) -> int:
    """The ``max_tokens`` to send: the server's, within what the context leaves after the messages and within
    the model's own cap on an answer; TooLong when that is less than MIN_ANSWER_TOKENS (or the server's own,
    when it asked for fewer)."""
    room = context - prompt_tokens
    wanted = params.max_tokens
    if max_completion:
        wanted = min(wanted, max_completion)
    if room < min(MIN_ANSWER_TOKENS, params.max_tokens):
        raise TooLong(
            f"the request's messages need about {prompt_tokens:,} tokens and the model takes {context:,} in all, "
            "which leaves no room for an answer; the server should send less, or choose a model with a larger "
            "context in the options page"
        )
    return max(1, min(wanted, room))


@dataclass(frozen=True)
class _Answer:
    action: Literal["approve", "decline", "cancel"]
    text: str | None = None


class SamplingBroker:
    def __init__(self, send: Send, model: Model) -> None:
        self._send = send
        self._model = model
        self._waiting: Waiting[str, _Answer] = Waiting()
        self._open_for: set[str] = set()

    def callback_for(self, server_id: str, name: Callable[[], str]) -> Callable[..., Any]:
        """The SDK's sampling callback for one server's sessions; ``name`` is how the popup names it."""

        async def sample(_context: Any, params: types.CreateMessageRequestParams) -> Any:
            return await self.ask(server_id, name(), params)

        return sample

    async def ask(
        self, server_id: str, server_name: str, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        if server_id in self._open_for:
            log.info("%s asked for the model again while a request is open; refused", server_id)
            return types.ErrorData(
                code=USER_REJECTED, message="another request of this server awaits the person"
            )
        self._open_for.add(server_id)
        try:
            return await self._ask(server_id, server_name, params)
        finally:
            self._open_for.discard(server_id)

    async def _ask(
        self, server_id: str, server_name: str, params: types.CreateMessageRequestParams
    ) -> types.CreateMessageResult | types.ErrorData:
        sampling_id = secrets.token_urlsafe(12)
        try:
            endpoint = await self._model.model()
        except Exception as exc:
            words = getattr(exc, "message", str(exc))
            return types.ErrorData(code=types.INTERNAL_ERROR, message=f"no model is available: {words}")
        model = endpoint.model
        request = _completion_request(model, params)
        try:
            request["max_tokens"] = answer_room(
                params,
                self._model.counter(endpoint).messages(request["messages"]),
                self._model.context_length(endpoint),
                endpoint.info.max_completion if endpoint.info else None,
            )
        except TooLong as exc:
            log.info("%s asked for the model with too long a request", server_id)
            return types.ErrorData(code=types.INVALID_PARAMS, message=str(exc))
        question = SamplingRequest(
            sampling_id=sampling_id,
            server=server_id,
            server_name=server_name,
            messages=[mcp_wire(m) for m in params.messages],
            max_tokens=params.max_tokens,
            model=model,
            system_prompt=params.system_prompt,
            model_preferences=params.model_preferences.model_dump(
                mode="json", by_alias=True, exclude_none=True
            )
            if params.model_preferences
            else None,
            temperature=params.temperature,
            stop_sequences=params.stop_sequences,
            include_context=params.include_context,
        )
        first = await self._wait(sampling_id, lambda: self._send(question))
        if first.action != "approve":
            return self._close(sampling_id, "timed_out" if first.action == "cancel" else "declined")
        try:
            text, used, finish = await _complete(endpoint.client, request)
            stop = _STOP_REASONS.get(finish or "", finish)
        except Exception as exc:
            from host.agent.agent import describe_llm_error

            words = describe_llm_error(exc)
            self._close(sampling_id, "failed", error=words)
            return types.ErrorData(code=types.INTERNAL_ERROR, message=f"the model failed: {words}")
        draft = SamplingDraft(sampling_id=sampling_id, text=text, model=used, stop_reason=stop)
        second = await self._wait(sampling_id, lambda: self._send(draft))
        if second.action != "approve":
            return self._close(sampling_id, "timed_out" if second.action == "cancel" else "declined")
        self._send(SamplingClosed(sampling_id=sampling_id, outcome="sent"))
        edited = second.text if second.text is not None else text
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=edited),
            model=used,
            stop_reason=stop if edited == text else "endTurn",
        )

    async def _wait(self, sampling_id: str, sent: Callable[[], None]) -> _Answer:
        try:
            return await self._waiting.ask(sampling_id, timeout_s=SAMPLING_TIMEOUT_S, sent=sent)
        except TimeoutError:
            return _Answer("cancel")

    def _close(self, sampling_id: str, outcome: Any, *, error: str | None = None) -> types.ErrorData:
        self._send(SamplingClosed(sampling_id=sampling_id, outcome=outcome, error=error))
        if outcome == "timed_out":
            message = "the person did not answer the sampling request in time"
        elif outcome == "failed":
            message = f"the model failed: {error}"
        else:
            message = "the person declined the sampling request"
        return types.ErrorData(code=USER_REJECTED, message=message)

    def respond(self, sampling_id: str, action: Literal["approve", "decline"], text: str | None) -> bool:
        """Deliver the person's answer to whichever step is waiting. False when none is."""
        return self._waiting.answer(sampling_id, _Answer(action, text))

    def cancel_all(self) -> None:
        self._waiting.close_all(_Answer("decline"))


_STOP_REASONS = {"stop": "endTurn", "length": "maxTokens", "content_filter": "endTurn"}


async def _complete(client: Any, request: dict[str, Any]) -> tuple[str, str, str | None]:
    """The model's answer as (text, the model that gave it, why it stopped). Streamed, as the chat asks: some
    OpenAI-compatible endpoints only stream."""
    stream = await client.chat.completions.create(**request, stream=True)
    pieces: list[str] = []
    used, finish = str(request["model"]), None
    try:
        async for chunk in stream:
            used = getattr(chunk, "model", None) or used
            if not chunk.choices:
                continue
            choice = chunk.choices[0]
            if choice.delta and choice.delta.content:
                pieces.append(choice.delta.content)
            finish = choice.finish_reason or finish
    finally:
        # Cancelled (the server gave up, the host is stopping) or failed: close the connection now, so the
        # endpoint stops generating and billing, as the chat does.
        with contextlib.suppress(Exception):
            await asyncio.shield(stream.close())
    return "".join(pieces), used, finish


def _completion_request(model: str, params: types.CreateMessageRequestParams) -> dict[str, Any]:
    """The chat-completions request for a sampling request: the server's messages, its limits."""
    messages: list[dict[str, Any]] = []
    if params.system_prompt:
        messages.append({"role": "system", "content": params.system_prompt})
    for message in params.messages:
        messages.append({"role": message.role, "content": _content(message.content)})
    request: dict[str, Any] = {"model": model, "messages": messages, "max_tokens": params.max_tokens}
    if params.temperature is not None:
        request["temperature"] = params.temperature
    if params.stop_sequences:
        request["stop"] = params.stop_sequences[:4]  # the most OpenAI-compatible endpoints take
    return request


def _content(content: Any) -> Any:
    blocks = content if isinstance(content, list) else [content]
    parts: list[dict[str, Any]] = []
    for block in blocks:
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append({"type": "text", "text": block.text})
        elif kind == "image":
            parts.append(
                {"type": "image_url", "image_url": {"url": f"data:{block.mime_type};base64,{block.data}"}}
            )
        elif kind == "audio":
            audio_format = (block.mime_type or "audio/wav").split("/")[-1]
            parts.append({"type": "input_audio", "input_audio": {"data": block.data, "format": audio_format}})
        else:
            dumped = mcp_wire(block) if block is not None else None
            parts.append({"type": "text", "text": str(dumped)})
    if len(parts) == 1 and parts[0]["type"] == "text":
        return parts[0]["text"]
    return parts
