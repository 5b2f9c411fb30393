"""One conversation turn: stream the model's answer, run the tools it asks for, feed results back, repeat.

Tools come from every connected server under names unique across servers (host.agent.names). Every call waits
for the person's approval unless they chose "always allow" for that tool of that server, or the tool is marked
read-only by a server whose hints are trusted (the built-in SQLite server, which enforces read-only itself, or
one the person marked trusted). Annotations are the server's own claims: a server nobody vouched for could
mark a write tool read-only, so its hints alone never skip approval. Arguments the model writes are checked
against the tool's ``inputSchema`` before anything else: a call that does not match goes back to the model with
the reasons, and never reaches the server or the person.

Every request starts with the system prompt (host.agent.prompt) and is fitted to the model's context
(host.agent.budget): room is kept for the answer, and what does not fit is shortened, left out, or summarised by
the model when the person chose that. An endpoint that still answers "context length exceeded" gets one tighter
request, with what its answer said about the model's real limit and count. The model gets tool results
truncated to a sensible size; the extension gets them whole. Each turn ends with what it used (``chat.usage``).

Everything it needs from the rest of the host comes in as callables (tool sources, the model endpoint, how to
send an event, how to remember "always allow"), so it can be driven and tested on its own.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from typing import Any

from host.agent import budget, prompt
from host.agent.history import History
from host.agent.models import ModelInfo
from host.agent.names import build_name_map
from host.agent.tokens import Encodings, TokenCounter
from host.errors import BridgeError, ErrorCode
from host.protocol.events import ChatContext, ChatDelta, ChatDone, ChatError, ChatTool, ChatUsage, Send
from host.protocol.verbs import unpaired_surrogate
from host.waiting import Waiting

log = logging.getLogger(__name__)

#: Rounds of tool calls before the agent stops and says so.
MAX_STEPS = 8
#: Characters of one tool result the model sees.
MODEL_RESULT_CHARS = 8000
#: A model's context when neither the endpoint nor the person says. Not smaller: Notion's hosted tools alone take
#: about 14,000 tokens, so a smaller guess would refuse every turn with a Notion workspace connected; a guess too
#: large costs one refused request, from whose words the endpoint's real limit is learned (``_learned_context``).
DEFAULT_CONTEXT = 32_768
#: Contexts of OpenAI's families, for endpoints whose model list does not say (OpenAI's own does not).
KNOWN_CONTEXTS = (
    (re.compile(r"(^|/)(gpt-4\.1|gpt-4-1)"), 1_047_576),
    (re.compile(r"(^|/)gpt-5"), 400_000),
    (re.compile(r"(^|/)(gpt-4o|chatgpt-4o|gpt-4-turbo|gpt-4\.5)"), 128_000),
    (re.compile(r"(^|/)o[134]"), 200_000),
    (re.compile(r"(^|/)gpt-4-32k"), 32_768),
    (re.compile(r"(^|/)gpt-4(?!o|\.)"), 8_192),
    (re.compile(r"(^|/)gpt-3\.5-turbo"), 16_385),
)
#: The largest image passed on to a model, in bytes of its base64 text.
MAX_IMAGE_CHARS = 5_000_000
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


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


@dataclass
class Endpoint:
    """The model a turn talks to, and what is known about it."""

    client: Any
    model: str
    base_url: str = ""
    info: ModelInfo | None = None
    """The endpoint's model list entry, when it has one for this model."""
    context_length: int | None = None
    """The person's setting for this model, which wins over the list's."""
    system_prompt: str | None = None
    """The person's system prompt; None for the default."""
    summarize: bool = False
    """Summarise turns that no longer fit instead of only leaving them out."""


def is_read_only(tool: dict[str, Any]) -> bool:
    return bool((tool.get("annotations") or {}).get("readOnlyHint"))


def needs_approval(source: ToolSource, tool: dict[str, Any]) -> bool:
    if tool["name"] in source.always_allowed:
        return False
    return not (source.trust_hints and is_read_only(tool))


def result_text(result: dict[str, Any]) -> str:
    parts = []
    for block in result.get("content", []):
        kind = block.get("type")
        if kind == "text":
            parts.append(block.get("text", ""))
        elif kind == "resource" and isinstance(block.get("resource"), dict) and "text" in block["resource"]:
            parts.append(str(block["resource"]["text"]))
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


# --- what an endpoint's refusal says ------------------------------------------------------------------------

_EXCEEDED = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|prompt is too long|"
    r"reduce the length|exceeds? the (?:model's )?(?:maximum|max|token limit)",
    re.IGNORECASE,
)
_MAXIMUM = re.compile(r"maximum context length is (\d[\d,]*)", re.IGNORECASE)
_REQUESTED = re.compile(
    r"(?:requested|resulted in|you have|prompt (?:has|contains|is))\s+(?:about\s+)?(\d[\d,]*)\s+tokens",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ContextExceeded:
    maximum: int | None
    requested: int | None


def context_exceeded(exc: BaseException) -> ContextExceeded | None:
    """What a "context length exceeded" refusal says (the model's limit, the request's size), or None when
    ``exc`` is some other failure."""
    status = getattr(exc, "status_code", None)
    if status not in (400, 413, 422):
        return None
    words = str(getattr(exc, "message", "") or exc)
    body = getattr(exc, "body", None)
    if body is not None:
        words += " " + json.dumps(body, default=str)
    if not _EXCEEDED.search(words):
        return None

    def number(pattern: re.Pattern[str]) -> int | None:
        match = pattern.search(words)
        return int(match.group(1).replace(",", "")) if match else None

    return ContextExceeded(number(_MAXIMUM), number(_REQUESTED))


def _refuses_stream_options(exc: BaseException) -> bool:
    return getattr(exc, "status_code", None) in (400, 422) and "stream_options" in str(exc)


# --- usage --------------------------------------------------------------------------------------------------


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = None
    estimated: bool = False

    def add(self, other: Usage) -> None:
        self.prompt_tokens += other.prompt_tokens
        self.completion_tokens += other.completion_tokens
        if other.cost is not None:
            self.cost = (self.cost or 0.0) + other.cost
        self.estimated = self.estimated or other.estimated

    def figures(self) -> dict[str, Any]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cost": None if self.cost is None else round(self.cost, 10),
        }


def _usage_of(reported: Any, info: ModelInfo | None) -> Usage | None:
    """The endpoint's usage object as Usage, priced with the model list's prices (or the endpoint's own cost)."""
    if reported is None:
        return None
    data = reported.model_dump() if hasattr(reported, "model_dump") else dict(reported)
    prompt_tokens, completion_tokens = data.get("prompt_tokens"), data.get("completion_tokens")
    if not isinstance(prompt_tokens, int) or not isinstance(completion_tokens, int):
        return None
    cost = info.cost(prompt_tokens, completion_tokens) if info else None
    if cost is None and isinstance(data.get("cost"), int | float):
        cost = float(data["cost"])
    return Usage(prompt_tokens, completion_tokens, cost)


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


def validate_arguments(schema: Any, arguments: dict[str, Any]) -> str | None:
    """Why ``arguments`` do not match the tool's ``inputSchema``, in words; None when they do (or when the
    schema itself cannot be used, which is the server's problem, not the model's)."""
    if not isinstance(schema, dict) or not schema:
        return None
    try:
        import jsonschema
        from jsonschema.exceptions import best_match

        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        errors = list(cls(schema).iter_errors(arguments))
    except Exception as exc:
        log.info("a tool's inputSchema could not be used to check arguments: %s", exc)
        return None
    if not errors:
        return None
    first = best_match(errors)
    ordered = [first] + [e for e in sorted(errors, key=lambda e: list(e.absolute_path)) if e is not first]
    lines = []
    for error in ordered[:5]:
        where = ".".join(str(part) for part in error.absolute_path) or "the arguments"
        lines.append(f"{where}: {error.message}")
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(lines) + more


class ChatAgent:
    def __init__(
        self,
        *,
        history: History,
        send: Send,
        sources: Callable[[], list[ToolSource]],
        llm: Callable[[], Awaitable[Endpoint]],
        remember_always: Callable[[str, str], None],
        server_lines: Callable[[], list[str]] | None = None,
    ) -> None:
        self.history = history
        self._send = send
        self._sources = sources
        self._llm = llm
        self._remember_always = remember_always
        self._server_lines = server_lines
        self.approvals = Approvals()
        self.encodings = Encodings()
        self._margins: dict[str, float] = {}
        """model -> the margin its estimated counts need, learned from what the endpoint reported."""
        self._learned_context: dict[tuple[str, str], int] = {}
        """(endpoint, model) -> the context the endpoint said the model has, when it refused a request."""
        self._no_stream_options: set[str] = set()
        """Endpoints that refused ``stream_options``: their turns stream without usage."""

    # --- a turn -------------------------------------------------------------------------------------------

    async def turn(self, conversation_id: str, text: str, context: dict[str, Any] | None = None) -> str:
        """Run one turn to its end; returns the final answer. History is written as the turn goes."""
        self.history.append(conversation_id, user_message(text, context))
        return await self.run(conversation_id)

    async def run(self, conversation_id: str) -> str:
        """Answer the conversation as it stands (its last message is the person's)."""
        sources = self._sources()
        catalogue, name_map = self._catalogue(sources)
        by_server = {source.server_id: source for source in sources}
        endpoint = await self._llm()
        counter = self.counter(endpoint.model)
        system = prompt.render(endpoint.system_prompt, self._describe_servers(sources))
        usage = Usage()
        pending_calls: list[dict[str, Any]] = []
        try:
            for _step in range(MAX_STEPS):
                answer, tool_calls = await self._request(
                    endpoint, counter, conversation_id, system, catalogue, usage
                )
                assistant: dict[str, Any] = {"role": "assistant", "content": answer or None}
                if tool_calls:
                    assistant["tool_calls"] = tool_calls
                self.history.append(conversation_id, assistant)
                if not tool_calls:
                    self._finish(conversation_id, endpoint, usage)
                    self._send(ChatDone(conversation_id=conversation_id, text=answer))
                    return answer
                pending_calls = list(tool_calls)
                images: list[dict[str, Any]] = []
                while pending_calls:
                    call = pending_calls[0]
                    reply, found = await self._run_tool(conversation_id, call, name_map, by_server, endpoint)
                    images.extend(found)
                    self.history.append(
                        conversation_id, {"role": "tool", "tool_call_id": call["id"], "content": reply}
                    )
                    pending_calls.pop(0)
                if images:
                    # Tool messages carry text only; the images go in a message of their own after them.
                    parts = [{"type": "text", "text": "The images the tool calls above returned:"}, *images]
                    self.history.append(
                        conversation_id, {"role": "user", "content": parts, "synthetic": True}
                    )
            stop = f"I stopped after {MAX_STEPS} rounds of tool calls without a final answer."
            self.history.append(conversation_id, {"role": "assistant", "content": stop})
            self._finish(conversation_id, endpoint, usage)
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
            if usage.prompt_tokens:
                self._finish(conversation_id, endpoint, usage)
            self._send(ChatDone(conversation_id=conversation_id, text="(stopped)", stopped=True))
            raise
        except BridgeError as exc:
            if usage.prompt_tokens:
                self._finish(conversation_id, endpoint, usage)
            self._send(ChatError(conversation_id=conversation_id, message=exc.message))
            raise

    def _finish(self, conversation_id: str, endpoint: Endpoint, usage: Usage) -> None:
        totals = self.history.add_usage(
            conversation_id, usage.prompt_tokens, usage.completion_tokens, usage.cost
        )
        self._send(
            ChatUsage(
                conversation_id=conversation_id,
                model=endpoint.model,
                turn=usage.figures(),  # type: ignore[arg-type]
                conversation=totals,  # type: ignore[arg-type]
                estimated=usage.estimated,
            )
        )

    def _describe_servers(self, sources: list[ToolSource]) -> list[str]:
        if self._server_lines is not None:
            return self._server_lines()
        return [f"{s.name} (tools named {s.server_id}__…): {len(s.tools)} tools" for s in sources]

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

    # --- one request to the model -----------------------------------------------------------------------

    def counter(self, model: str) -> TokenCounter:
        """A token counter for ``model``, with the margin its counts were found to need."""
        return TokenCounter(model, self.encodings, self._margins.get(model))

    def context_length(self, endpoint: Endpoint) -> int:
        """The model's context: the person's setting, else the endpoint's list, else what is known of the
        family, else DEFAULT_CONTEXT; never more than the endpoint itself said when it refused a request."""
        found = endpoint.context_length or (endpoint.info.context_length if endpoint.info else None)
        if not found:
            found = next(
                (size for pattern, size in KNOWN_CONTEXTS if pattern.search(endpoint.model.lower())),
                DEFAULT_CONTEXT,
            )
        learned = self._learned_context.get((endpoint.base_url, endpoint.model))
        return min(found, learned) if learned else found

    async def _request(
        self,
        endpoint: Endpoint,
        counter: TokenCounter,
        conversation_id: str,
        system_prompt: str,
        catalogue: list[dict[str, Any]],
        usage: Usage,
    ) -> tuple[str, list[dict[str, Any]]]:
        tighter = 1.0
        for attempt in range(2):
            context = self.context_length(endpoint)
            limit = int(
                (
                    context
                    - budget.reserve_for_answer(
                        context, endpoint.info.max_completion if endpoint.info else None
                    )
                )
                * tighter
            )
            fitted = await self._fit(
                endpoint, counter, conversation_id, system_prompt, catalogue, limit, usage
            )
            try:
                return await self._stream(endpoint, counter, conversation_id, fitted, catalogue, usage)
            except _Exceeded as exceeded:
                if attempt == 1:
                    raise chat_failed(
                        f"the model endpoint refused the request as too long for the model's context even "
                        f"after it was shortened: {exceeded.words}"
                    ) from None
                said = exceeded.said
                if said.maximum:
                    self._learned_context[(endpoint.base_url, endpoint.model)] = said.maximum
                if said.requested and said.requested > fitted.tokens:
                    counter.margin *= said.requested / fitted.tokens * 1.05
                    self._margins[endpoint.model] = counter.margin
                if not said.maximum and not said.requested:
                    tighter = 0.75
                log.info("context exceeded (%s); trying once more with less", said)
        raise AssertionError("unreachable")

    async def _fit(
        self,
        endpoint: Endpoint,
        counter: TokenCounter,
        conversation_id: str,
        system_prompt: str,
        catalogue: list[dict[str, Any]],
        limit: int,
        usage: Usage,
    ) -> budget.Fitted:
        history = self.history.messages(conversation_id)
        tools_tokens = counter.tools(catalogue)
        for attempt in range(3):
            summary = self.history.summary(conversation_id)
            until = summary[1] if summary else 0
            system = [{"role": "system", "content": system_prompt}]
            if summary:
                system.append(
                    {
                        "role": "system",
                        "content": "A summary of the start of this conversation, which is not shown in full:\n"
                        + summary[0],
                    }
                )
            sent = budget.repair(history[until:])
            try:
                fitted = budget.fit(system, sent, tools_tokens=tools_tokens, limit=limit, counter=counter)
            except budget.ContextTooSmall as exc:
                raise chat_failed(str(exc)) from None
            first_sent = until + _original_index(history[until:], sent, fitted.first_kept)
            if endpoint.summarize and fitted.left_out_turns and attempt < 2:
                previous = summary[0] if summary else None
                new = await self._summarise(
                    endpoint, counter, previous, sent[: fitted.first_kept], limit, usage
                )
                if new:
                    self.history.set_summary(conversation_id, new, first_sent)
                    continue
            break
        all_turns = budget.split_turns(history)
        left_out_turns = sum(1 for turn in all_turns if turn[0] < first_sent)
        context: dict[str, Any] = {
            "context_length": self.context_length(endpoint),
            "prompt_tokens": fitted.tokens,
            "left_out_turns": left_out_turns,
            "summarized": bool(summary) and left_out_turns > 0,
            "shortened": fitted.shortened,
        }
        self.history.set_context(conversation_id, context)
        self._send(ChatContext(conversation_id=conversation_id, **context))
        return fitted

    async def _summarise(
        self,
        endpoint: Endpoint,
        counter: TokenCounter,
        previous: str | None,
        left_out: list[dict[str, Any]],
        limit: int,
        usage: Usage,
    ) -> str | None:
        """A summary of ``previous`` and the messages being left out, written by the model; None if it fails
        (the turn then goes on with them simply left out)."""
        lines = [f"Summary so far: {previous}"] if previous else []
        for message in left_out:
            role, content = message.get("role"), message.get("content")
            if isinstance(content, list):
                content = " ".join(p.get("text", "[image]") for p in content if isinstance(p, dict))
            if role == "tool":
                lines.append(
                    f"Tool result: {budget.shorten_text(str(content or ''), budget.SHORT_RESULT_CHARS)}"
                )
            elif role == "assistant" and message.get("tool_calls"):
                names = ", ".join(c["function"]["name"] for c in message["tool_calls"])
                lines.append(f"Assistant: {content or ''} [called {names}]")
            elif content:
                lines.append(f"{'Person' if role == 'user' else 'Assistant'}: {content}")
        transcript = "\n".join(lines)
        room = max(limit - 400, 200)
        if counter.text(transcript) > room:
            transcript = transcript[-int(len(transcript) * room / counter.text(transcript) * 0.9) :]
        request = [
            {
                "role": "system",
                "content": "You summarise conversations between a person and an assistant that uses tools. "
                "Write at most 150 words: what the person wanted, what was found (names, ids, figures), what "
                "was decided or changed, and what is still open. Plain text, no preamble.",
            },
            {"role": "user", "content": transcript},
        ]
        try:
            response = await endpoint.client.chat.completions.create(model=endpoint.model, messages=request)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("summarising failed (%s); the turns are left out instead", describe_llm_error(exc))
            return None
        reported = _usage_of(getattr(response, "usage", None), endpoint.info)
        if reported:
            usage.add(reported)
        text = (response.choices[0].message.content or "").strip() if response.choices else ""
        return text[:3000] or None

    async def _stream(
        self,
        endpoint: Endpoint,
        counter: TokenCounter,
        conversation_id: str,
        fitted: budget.Fitted,
        catalogue: list[dict[str, Any]],
        usage: Usage,
    ) -> tuple[str, list[dict[str, Any]]]:
        text: list[str] = []
        calls: dict[int, dict[str, Any]] = {}
        reported: Usage | None = None
        for _ in range(2):
            options: dict[str, Any] = {}
            if endpoint.base_url not in self._no_stream_options:
                options["stream_options"] = {"include_usage": True}
            try:
                stream = await endpoint.client.chat.completions.create(
                    model=endpoint.model,
                    messages=fitted.messages,
                    tools=catalogue or None,
                    stream=True,
                    **options,
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if options and _refuses_stream_options(exc):
                    self._no_stream_options.add(endpoint.base_url)
                    continue
                said = context_exceeded(exc)
                if said is not None:
                    raise _Exceeded(said, describe_llm_error(exc)) from None
                raise chat_failed(describe_llm_error(exc)) from None
        try:
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    reported = _usage_of(chunk.usage, endpoint.info) or reported
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
        finally:
            # Stopped mid-answer (or failed): close the connection now, so the endpoint stops generating and
            # billing. Newer openai clients do this when the iteration is abandoned; older ones leave it to
            # garbage collection.
            with contextlib.suppress(Exception):
                await asyncio.shield(stream.close())
        tool_calls = [calls[i] for i in sorted(calls)]
        for call in tool_calls:
            call["id"] = call["id"] or f"call_{secrets.token_hex(6)}"
        answer = "".join(text)
        if reported is None:
            completion = counter.text(answer) + (counter.text(json.dumps(tool_calls)) if tool_calls else 0)
            cost = endpoint.info.cost(fitted.tokens, completion) if endpoint.info else None
            reported = Usage(fitted.tokens, completion, cost, estimated=True)
        elif not counter.exact and counter.encoding_ready():
            self._learn_margin(endpoint.model, counter, fitted, reported.prompt_tokens)
        usage.add(reported)
        return answer, tool_calls

    def _learn_margin(self, model: str, counter: TokenCounter, fitted: budget.Fitted, actual: int) -> None:
        """Scale this model's estimates to what the endpoint counted, with a tenth to spare."""
        raw = fitted.tokens / counter.margin
        if raw <= 0 or actual <= 0:
            return
        learned = min(3.0, max(1.0, actual / raw * 1.1))
        self._margins[model] = counter.margin = learned

    # --- one tool call ----------------------------------------------------------------------------------

    async def _run_tool(
        self,
        conversation_id: str,
        call: dict[str, Any],
        name_map: dict[str, tuple[str, str]],
        by_server: dict[str, ToolSource],
        endpoint: Endpoint,
    ) -> tuple[str, list[dict[str, Any]]]:
        """What the model is told of the call, and the images for it to see."""
        name = call["function"]["name"]
        if name not in name_map:
            self._send(ChatTool(conversation_id, call["id"], "error", tool=name, error="no such tool"))
            return f"Error: there is no tool named {name}.", []
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
            return f"Error: the arguments could not be used ({exc}).", []
        problem = validate_arguments(tool.get("inputSchema"), arguments)
        if problem is not None:
            self._send(
                ChatTool(
                    conversation_id,
                    call["id"],
                    "error",
                    tool=tool_name,
                    server=server_id,
                    server_name=source.name,
                    arguments=arguments,
                    error=f"invalid arguments, sent back to the model: {problem}",
                )
            )
            return (
                f"Error: the arguments do not match {name}'s input schema, so the tool was not called: "
                f"{problem}. Correct the arguments and call it again."
            ), []
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
                return "The person denied this tool call; it was not run.", []
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
            return f"Error: {message}", []
        self._send(replace(card, status="done", result=result, duration_ms=_ms(started)))
        text = result_text(result)
        images, notes = _media_for_model(result, bool(endpoint.info and endpoint.info.images))
        if notes:
            text = "\n".join([text, *notes]) if text else "\n".join(notes)
        return for_model(("Tool error: " if result.get("isError") else "") + text), images


def user_message(text: str, context: dict[str, Any] | None) -> dict[str, Any]:
    """The person's message as stored: what the model reads (with the page, if any) and what they typed."""
    content = text
    if context:
        content += (
            "\n\n[Context from the page the person is on]\n"
            + json.dumps(context, ensure_ascii=False)[:20_000]
        )
    message: dict[str, Any] = {"role": "user", "content": content, "display": text}
    if context:
        message["context"] = context
    return message


def _media_for_model(result: dict[str, Any], sees_images: bool) -> tuple[list[dict[str, Any]], list[str]]:
    """The result's images as message parts (for a model that takes images), and a line for the model about
    each image, sound or file it gets as a note instead."""
    images: list[dict[str, Any]] = []
    notes: list[str] = []
    for block in result.get("content", []):
        kind = block.get("type")
        if kind in ("image", "audio"):
            mime = str(block.get("mimeType") or "application/octet-stream")
            data = block.get("data")
            size = _decoded_size(data)
            passable = size is not None and len(data) <= MAX_IMAGE_CHARS
            if kind == "image" and sees_images and mime in IMAGE_TYPES and passable:
                images.append({"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data}"}})
                notes.append(f"[the tool returned an image ({mime}); it follows in the next message]")
                continue
            what = "an image" if kind == "image" else "a sound recording"
            size_words = f", {size / 1024:,.0f} KB" if size is not None else ""
            reason = (
                "the person sees it" if kind == "audio" or not sees_images else "it is too large to pass on"
            )
            notes.append(f"[the tool returned {what} ({mime}{size_words}); {reason}, you cannot]")
        elif kind == "resource" and isinstance(block.get("resource"), dict) and "blob" in block["resource"]:
            resource = block["resource"]
            notes.append(
                f"[the tool returned a file {resource.get('uri', '')} ({resource.get('mimeType') or 'binary'}); "
                "the person can download it]"
            )
    return images, notes


def _decoded_size(data: Any) -> int | None:
    if not isinstance(data, str):
        return None
    try:
        return len(base64.b64decode(data, validate=True))
    except (binascii.Error, ValueError):
        return None


def _original_index(history: list[dict[str, Any]], repaired: list[dict[str, Any]], index: int) -> int:
    """Where ``repaired[index]`` (a repaired copy of ``history``, which keeps the original message objects of
    every turn's start) is in ``history``."""
    if index <= 0:
        return 0
    if index >= len(repaired):
        return len(history)
    target = repaired[index]
    return next((i for i, message in enumerate(history) if message is target), len(history))


class _Exceeded(Exception):
    def __init__(self, said: ContextExceeded, words: str) -> None:
        super().__init__(words)
        self.said = said
        self.words = words


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)
