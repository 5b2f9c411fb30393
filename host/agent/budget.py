"""Fitting a conversation into the model's context: what is sent when the whole history does not fit.

Every request leaves room for the answer (``reserve_for_answer``). When the history does not fit in the rest, it is
made smaller in this order, stopping as soon as it fits:

1. tool results and images of earlier turns are shortened, oldest first (the model has already used them);
2. the current turn's tool results are cut to make room for the turn before it, down to a quarter of the room,
   so one long result does not push out the conversation it belongs to;
3. the oldest turns are left out, whole: a turn is the person's message and everything up to their next one, so
   a tool call always travels with its result;
4. the current turn's images, then its tool results, are cut down to what fits;
5. the current message's tail (usually the page it came with) is cut.

If even that does not fit, the request cannot be made and ``ContextTooSmall`` says by how much. Pure: the counter
is passed in, nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from host.agent.tokens import TokenCounter

#: The fields of a stored message the model's API takes; the rest (display text, usage, …) are the host's.
API_FIELDS = ("role", "content", "tool_calls", "tool_call_id", "name")
#: What an earlier turn's tool result is shortened to.
SHORT_RESULT_CHARS = 600
#: The least a tool result of the current turn is cut to before the person's message is cut instead.
MIN_RESULT_CHARS = 200


def reserve_for_answer(context_length: int, max_completion: int | None = None) -> int:
    """Tokens kept free for the model's answer: a quarter of the context, at most 4,096 (or the model's own
    cap on an answer, when it has a smaller one), at least 256."""
    reserve = min(context_length // 4, 4096)
    if max_completion:
        reserve = min(reserve, max_completion)
    return max(256, reserve)


class ContextTooSmall(Exception):
    def __init__(self, needed: int, limit: int, tools_tokens: int = 0) -> None:
        # The tools' definitions can be most of it (Notion's alone are about 14,000 tokens): then say so, since a
        # shorter message would not help, and the context setting (for an endpoint that does not say) might.
        tools = (
            f" ({tools_tokens:,} of them the connected servers' tool definitions)"
            if tools_tokens * 2 > needed
            else ""
        )
        super().__init__(
            f"even shortened, this message needs about {needed:,} tokens{tools} and the model takes {limit:,} "
            "besides room for its answer; send a shorter message, set the model's context length in the options "
            "page if it takes more, or choose a model with a larger context"
        )
        self.needed = needed
        self.limit = limit


@dataclass
class Fitted:
    messages: list[dict[str, Any]]
    """What to send: the leading system messages, then the history that was kept, in API form."""
    tokens: int
    """The request's size as counted (messages and tools)."""
    first_kept: int = 0
    """Index into the history of the first message sent; those before it were left out."""
    left_out_turns: int = 0
    shortened: int = 0
    """Tool results and images shortened or left out of the messages that were sent."""
    turns: list[list[int]] = field(default_factory=list)


def api_message(message: dict[str, Any]) -> dict[str, Any]:
    return {k: message[k] for k in API_FIELDS if k in message}


def is_turn_start(message: dict[str, Any]) -> bool:
    """The person's own message; a user message the host added (images from a tool) belongs to its turn."""
    return message.get("role") == "user" and not message.get("synthetic")


def split_turns(history: list[dict[str, Any]]) -> list[list[int]]:
    turns: list[list[int]] = []
    for index, message in enumerate(history):
        if not turns or is_turn_start(message):
            turns.append([])
        turns[-1].append(index)
    return turns


def repair(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every tool call answered right after its message, and no answer without its call.

    A host stopped in the middle of a tool call leaves a call without a result, which endpoints refuse; it is
    answered "interrupted" here rather than making every later turn fail.
    """
    out: list[dict[str, Any]] = []
    open_calls: list[str] = []

    def close() -> None:
        for call_id in open_calls:
            out.append(
                {"role": "tool", "tool_call_id": call_id, "content": "no result: the turn was interrupted"}
            )
        open_calls.clear()

    for message in history:
        role = message.get("role")
        if role == "tool":
            if message.get("tool_call_id") in open_calls:
                open_calls.remove(message["tool_call_id"])
                out.append(message)
            continue
        close()
        out.append(message)
        if role == "assistant":
            open_calls.extend(call["id"] for call in message.get("tool_calls") or [])
    close()
    return out


def shorten_text(text: str, chars: int, what: str = "this tool result") -> str:
    if len(text) <= chars:
        return text
    return (
        text[:chars]
        + f"\n[shortened to fit the model's context: {len(text) - chars:,} more characters of {what} left out]"
    )


def _without_images(message: dict[str, Any]) -> dict[str, Any]:
    content = message.get("content")
    if not isinstance(content, list):
        return message
    parts = [
        part
        if part.get("type") == "text"
        else {"type": "text", "text": "[image left out to fit the model's context]"}
        for part in content
    ]
    return {**message, "content": parts}


def _has_images(message: dict[str, Any]) -> bool:
    content = message.get("content")
    return isinstance(content, list) and any(part.get("type") != "text" for part in content)


def fit(
    system: list[dict[str, Any]],
    history: list[dict[str, Any]],
    *,
    tools_tokens: int,
    limit: int,
    counter: TokenCounter,
) -> Fitted:
    """The messages to send so that messages and tools count at most ``limit`` tokens."""
    msgs = [api_message(m) | ({"synthetic": True} if m.get("synthetic") else {}) for m in history]
    counts = [counter.message(m) for m in msgs]
    fixed = tools_tokens + counter.messages([api_message(m) for m in system])
    turns = split_turns(msgs)
    first_turn = 0
    shortened: set[int] = set()

    def kept_total() -> int:
        start = turns[first_turn][0] if turns else 0
        return fixed + sum(counts[start:])

    def replace(index: int, message: dict[str, Any]) -> None:
        msgs[index] = message
        counts[index] = counter.message(message)

    # 1. Earlier turns' tool results and images, oldest first.
    for turn in turns[:-1]:
        for index in turn:
            if kept_total() <= limit:
                break
            message = msgs[index]
            if message["role"] == "tool" and isinstance(message.get("content"), str):
                short = shorten_text(message["content"], SHORT_RESULT_CHARS)
                if short != message["content"]:
                    replace(index, {**message, "content": short})
                    shortened.add(index)
            elif _has_images(message):
                replace(index, _without_images(message))
                shortened.add(index)
    current = turns[-1] if turns else []
    results = [i for i in current if msgs[i]["role"] == "tool" and isinstance(msgs[i].get("content"), str)]
    originals = {i: msgs[i]["content"] for i in results}
    cut: set[int] = set()

    def cut_results(target: int) -> None:
        """Shorten the current turn's results until together they take at most ``target`` tokens: the older
        ones down to the minimum first, the last one to what there is room for."""
        for position, index in enumerate(results):
            over = sum(counts[i] for i in results) - target
            if over <= 0:
                return
            content = originals[index]
            chars = MIN_RESULT_CHARS
            if position == len(results) - 1:
                chars = max(MIN_RESULT_CHARS, _chars_for(content, counts[index] - over, counts[index]))
            while True:
                replace(index, {**msgs[index], "content": shorten_text(content, chars)})
                cut.add(index)
                if sum(counts[i] for i in results) <= target or chars <= MIN_RESULT_CHARS:
                    break
                chars = max(MIN_RESULT_CHARS, int(chars * 0.8))

    # 2. The current turn's results give way to the turn before it, down to a quarter of the room: one long
    #    result should not push out the conversation it belongs to.
    if kept_total() > limit and results:
        room = limit - fixed
        others = sum(counts[i] for i in current if i not in originals)
        before = sum(counts[i] for i in turns[-2]) if len(turns) > 1 else 0
        cut_results(max(room // 4, room - others - before, 0))
    # 3. Whole turns, oldest first; the current one always stays.
    while kept_total() > limit and first_turn < len(turns) - 1:
        first_turn += 1
    # 4. The current turn's images, then its tool results, cut to what fits.
    for index in current:
        if kept_total() > limit and _has_images(msgs[index]):
            replace(index, _without_images(msgs[index]))
            shortened.add(index)
    if kept_total() > limit and results:
        cut_results(sum(counts[i] for i in results) - (kept_total() - limit))
    shortened |= cut
    # 5. The person's message itself (its tail: the page it came with).
    if current and kept_total() > limit and isinstance(msgs[current[0]].get("content"), str):
        index = current[0]
        content = msgs[index]["content"]
        chars = _chars_for(content, counts[index] - (kept_total() - limit), counts[index])
        while chars >= MIN_RESULT_CHARS:
            replace(index, {**msgs[index], "content": shorten_text(content, chars, "this message")})
            if kept_total() <= limit:
                break
            chars = int(chars * 0.8)
    total = kept_total()
    if total > limit:
        raise ContextTooSmall(total, limit, tools_tokens)
    start = turns[first_turn][0] if turns else 0
    return Fitted(
        messages=[api_message(m) for m in system] + [api_message(m) for m in msgs[start:]],
        tokens=total,
        first_kept=start,
        left_out_turns=first_turn,
        shortened=sum(1 for index in shortened if index >= start),
        turns=turns,
    )


def _chars_for(text: str, tokens_allowed: int, tokens_now: int) -> int:
    """Characters of ``text`` that should take about ``tokens_allowed`` of the ``tokens_now`` it takes."""
    if tokens_now <= 0:
        return len(text)
    return max(0, int(len(text) * max(tokens_allowed - 40, 0) / tokens_now * 0.95))
