"""One conversation turn: stream the model's answer, run the tools it asks for, feed results back, repeat.

Tools come from every connected server under names unique across servers (host.agent.names). Every call waits
for the person's approval unless they chose "always allow" for that tool of that server, or the tool is marked
read-only by a server whose hints are trusted (the built-in SQLite server, which enforces read-only itself, or
one the person marked trusted). Annotations are the server's own claims: a server nobody vouched for could
mark a write tool read-only, so its hints alone never skip approval. The model gets results truncated to a
sensible size; the extension gets them whole.

Everything it needs from the rest of the host comes in as callables (tool sources, the model client, how to
send an event, how to remember "always allow"), so it can be driven and tested on its own.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from host.agent.history import History
from host.agent.names import build_name_map
from host.errors import BridgeError, ErrorCode
from host.protocol.events import ChatDelta, ChatDone, ChatError, ChatTool, Send
from host.protocol.verbs import unpaired_surrogate
from host.waiting import Waiting

#: Rounds of tool calls before the agent stops and says so.
MAX_STEPS = 8
#: Characters of one tool result the model sees.
MODEL_RESULT_CHARS = 8000


def chat_failed(message: str) -> BridgeError:
    """The turn could not finish; the message says why, in words."""
    return BridgeError(ErrorCode.CHAT_FAILED, message)


@dataclass
class ToolSource:
    """What the agent needs of one connected server."""

    server_id: str
    name: str
    tools: list[dict[str, Any]]
    call: Callable[..., Any]
    """``call(server_id, tool, arguments, card=(conversation_id, call_id))``; ``card`` names the tool card whose
    progress the call reports (``tool.progress``)."""
    always_allowed: set[str] = field(default_factory=set)
    trust_hints: bool = False
    """Whether this server's ``readOnlyHint`` may skip approval."""
    uid: str = ""
    """The server's identity: an "always allow" given now belongs to it and not to whatever the id means later."""


def is_read_only(tool: dict[str, Any]) -> bool:
    return bool((tool.get("annotations") or {}).get("readOnlyHint"))


def needs_approval(source: ToolSource, tool: dict[str, Any]) -> bool:
    if tool["name"] in source.always_allowed:
        return False
    return not (source.trust_hints and is_read_only(tool))


def result_text(result: dict[str, Any]) -> str:
    parts = [block.get("text", "") for block in result.get("content", []) if block.get("type") == "text"]
    if not parts and result.get("structuredContent") is not None:
        parts = [json.dumps(result["structuredContent"])]
    return "\n".join(parts)


def for_model(text: str) -> str:
    if len(text) <= MODEL_RESULT_CHARS:
        return text
    return (
        text[:MODEL_RESULT_CHARS]
        + f"\n[truncated: {len(text) - MODEL_RESULT_CHARS} more characters not shown]"
    )


def describe_llm_error(exc: BaseException) -> str:
    import openai

    if isinstance(exc, openai.AuthenticationError):
        return "the model endpoint refused the API key (HTTP 401); check it in the options page"
    if isinstance(exc, openai.RateLimitError):
        return "the model endpoint is rate-limiting (HTTP 429); try again in a moment"
    if isinstance(exc, openai.APITimeoutError):
        return "the model endpoint did not answer in time"
    if isinstance(exc, openai.APIConnectionError):
        return "cannot reach the model endpoint; check its URL in the options page"
    if isinstance(exc, openai.APIStatusError):
        return f"the model endpoint answered HTTP {exc.status_code}: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


class Approvals:
    """Calls waiting for the person's yes or no, each under its conversation and call id.

    The model chooses call ids, and models reuse simple ones (``call_1``) in every conversation; keyed by the
    call id alone, a yes given in one conversation would run a call waiting in another.
    """

    def __init__(self) -> None:
        self._waiting: Waiting[tuple[str, str], tuple[bool, bool]] = Waiting()

    async def wait(self, conversation_id: str, call_id: str, sent: Callable[[], None]) -> tuple[bool, bool]:
        """(approve, always), once the person answers; ``sent`` shows them the question."""
        return await self._waiting.ask((conversation_id, call_id), sent=sent)

    def answer(self, conversation_id: str, call_id: str, approve: bool, always: bool) -> bool:
        return self._waiting.answer((conversation_id, call_id), (approve, always))


class ChatAgent:
    def __init__(
        self,
        *,
        history: History,
        send: Send,
        sources: Callable[[], list[ToolSource]],
        llm: Callable[[], Any],
        remember_always: Callable[[str, str], None],
    ) -> None:
        self.history = history
        self._send = send
        self._sources = sources
        self._llm = llm
        self._remember_always = remember_always
        self.approvals = Approvals()

    async def turn(self, conversation_id: str, text: str, context: dict[str, Any] | None = None) -> str:
        """Run one turn to its end; returns the final answer. History is written as the turn goes."""
        content = text
        if context:
            content += (
                "\n\n[Context from the page the person is on]\n"
                + json.dumps(context, ensure_ascii=False)[:20_000]
            )
        self.history.append(conversation_id, {"role": "user", "content": content, "display": text})
        sources = self._sources()
        catalogue, name_map = self._catalogue(sources)
        by_server = {source.server_id: source for source in sources}
        client, model = await self._llm()
        pending_calls: list[dict[str, Any]] = []
        try:
            for _step in range(MAX_STEPS):
                answer, tool_calls = await self._stream(client, model, conversation_id, catalogue)
                assistant: dict[str, Any] = {"role": "assistant", "content": answer or None}
                if tool_calls:
                    assistant["tool_calls"] = tool_calls
                self.history.append(conversation_id, assistant)
                if not tool_calls:
                    self._send(ChatDone(conversation_id=conversation_id, text=answer))
                    return answer
                pending_calls = list(tool_calls)
                while pending_calls:
                    call = pending_calls[0]
                    reply = await self._run_tool(conversation_id, call, name_map, by_server)
                    self.history.append(
                        conversation_id, {"role": "tool", "tool_call_id": call["id"], "content": reply}
                    )
                    pending_calls.pop(0)
            stop = f"I stopped after {MAX_STEPS} rounds of tool calls without a final answer."
            self.history.append(conversation_id, {"role": "assistant", "content": stop})
            self._send(ChatDone(conversation_id=conversation_id, text=stop))
            return stop
        except asyncio.CancelledError:
            # Keep the history valid for the next turn: every tool call the model made gets an answer.
            for call in pending_calls:
                self.history.append(
                    conversation_id,
                    {"role": "tool", "tool_call_id": call["id"], "content": "cancelled by the person"},
                )
            self.history.append(conversation_id, {"role": "assistant", "content": "(stopped)"})
            self._send(ChatDone(conversation_id=conversation_id, text="(stopped)", stopped=True))
            raise
        except BridgeError as exc:
            self._send(ChatError(conversation_id=conversation_id, message=exc.message))
            raise

    def _catalogue(
        self, sources: list[ToolSource]
    ) -> tuple[list[dict[str, Any]], dict[str, tuple[str, str]]]:
        name_map = build_name_map([(s.server_id, t["name"]) for s in sources for t in s.tools])
        reverse = {pair: name for name, pair in name_map.items()}
        catalogue = []
        for source in sources:
            for tool in source.tools:
                catalogue.append(
                    {
                        "type": "function",
                        "function": {
                            "name": reverse[(source.server_id, tool["name"])],
                            "description": f"[{source.name}] {tool.get('description') or tool['name']}"[
                                :1024
                            ],
                            "parameters": tool.get("inputSchema") or {"type": "object", "properties": {}},
                        },
                    }
                )
        return catalogue, name_map

    async def _stream(
        self, client: Any, model: str, conversation_id: str, catalogue: list[dict[str, Any]]
    ) -> tuple[str, list[dict[str, Any]]]:
        messages = [
            {k: v for k, v in m.items() if k != "display"} for m in self.history.messages(conversation_id)
        ]
        try:
            stream = await client.chat.completions.create(
                model=model, messages=messages, tools=catalogue or None, stream=True
            )
            text: list[str] = []
            calls: dict[int, dict[str, Any]] = {}
            async for chunk in stream:
                if not chunk.choices:
                    continue
                delta = chunk.choices[0].delta
                if delta.content:
                    text.append(delta.content)
                    self._send(ChatDelta(conversation_id=conversation_id, text=delta.content))
                for part in delta.tool_calls or []:
                    slot = calls.setdefault(
                        part.index, {"id": "", "type": "function", "function": {"name": "", "arguments": ""}}
                    )
                    if part.id:
                        slot["id"] = part.id
                    if part.function and part.function.name:
                        slot["function"]["name"] += part.function.name
                    if part.function and part.function.arguments:
                        slot["function"]["arguments"] += part.function.arguments
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            raise chat_failed(describe_llm_error(exc)) from None
        tool_calls = [calls[i] for i in sorted(calls)]
        for call in tool_calls:
            call["id"] = call["id"] or f"call_{secrets.token_hex(6)}"
        return "".join(text), tool_calls

    async def _run_tool(
        self,
        conversation_id: str,
        call: dict[str, Any],
        name_map: dict[str, tuple[str, str]],
        by_server: dict[str, ToolSource],
    ) -> str:
        name = call["function"]["name"]
        if name not in name_map:
            self._send(ChatTool(conversation_id, call["id"], "error", tool=name, error="no such tool"))
            return f"Error: there is no tool named {name}."
        server_id, tool_name = name_map[name]
        source = by_server[server_id]
        tool = next(t for t in source.tools if t["name"] == tool_name)
        try:
            arguments = json.loads(call["function"]["arguments"] or "{}")
            if not isinstance(arguments, dict):
                raise ValueError("arguments must be a JSON object")
            where = unpaired_surrogate(arguments)
            if where is not None:
                raise ValueError(f"{where} holds an unpaired UTF-16 surrogate, which no server can be sent")
        except ValueError as exc:
            self._send(
                ChatTool(
                    conversation_id, call["id"], "error", tool=tool_name, server=server_id, error=str(exc)
                )
            )
            return f"Error: the arguments could not be used ({exc})."
        card = ChatTool(
            conversation_id,
            call["id"],
            "awaiting_approval",
            tool=tool_name,
            server=server_id,
            server_name=source.name,
            arguments=arguments,
        )
        if needs_approval(source, tool):
            approve, always = await self.approvals.wait(conversation_id, call["id"], lambda: self._send(card))
            if not approve:
                self._send(replace(card, status="denied"))
                return "The person denied this tool call; it was not run."
            if always:
                source.always_allowed.add(tool_name)
                self._remember_always(source.uid, tool_name)
        self._send(replace(card, status="running"))
        started = time.perf_counter()
        try:
            result = await source.call(server_id, tool_name, arguments, card=(conversation_id, call["id"]))
        except Exception as exc:
            message = getattr(exc, "message", str(exc))
            self._send(replace(card, status="error", error=message, duration_ms=_ms(started)))
            return f"Error: {message}"
        self._send(replace(card, status="done", result=result, duration_ms=_ms(started)))
        text = result_text(result)
        return for_model(("Tool error: " if result.get("isError") else "") + text)


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
