"""The chat's parts that need no process: token counting, fitting a history to a context, the model list, what an
endpoint's refusal says, argument checks, the system prompt and the Markdown export."""

from __future__ import annotations

import asyncio
import datetime
import gzip
import hashlib
import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host.agent import budget, prompt
from host.agent.agent import context_exceeded, validate_arguments
from host.agent.export import to_markdown
from host.agent.models import ModelCatalogue, parse_models
from host.agent.tokens import ENCODINGS_DIR, SPECS, Encodings, TokenCounter, encoding_for


@pytest.fixture(scope="module")
def encodings() -> Encodings:
    found = Encodings()
    for name in SPECS:
        assert found.wait(name) is not None, name
    return found


# --- tokens ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SPECS))
def test_the_kept_encodings_are_the_files_tiktoken_expects(name):
    raw = gzip.decompress((ENCODINGS_DIR / f"{name}.tiktoken.gz").read_bytes())
    assert hashlib.sha256(raw).hexdigest() == SPECS[name].sha256
    assert (ENCODINGS_DIR / "LICENSE").read_text().startswith("MIT License")


def test_openai_families_are_counted_exactly(encodings):
    gpt4 = TokenCounter("gpt-4", encodings)
    assert encodings.get("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert gpt4.exact and gpt4.text("hello world") == 2
    mini = TokenCounter("openai/gpt-4o-mini", encodings)
    assert mini.exact and mini.margin == 1.0
    assert mini.text("Hello, world!") == len(encodings.get("o200k_base").encode_ordinary("Hello, world!"))


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("openai/gpt-4.1", "o200k_base"),
        ("openai/o3-mini", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-4", "cl100k_base"),
        ("gpt-3.5-turbo", "cl100k_base"),
        ("z-ai/glm-4.5-air:free", None),
        ("meta-llama/llama-3.1-8b-instruct", None),
        ("anthropic/claude-sonnet-4", None),
        ("someone/gpt-4o-lookalike", None),
        ("llama3", None),
    ],
)
def test_which_models_count_exactly(model, encoding):
    assert encoding_for(model) == encoding


def test_other_families_are_estimated_with_a_margin(encodings):
    glm = TokenCounter("z-ai/glm-4.5-air:free", encodings)
    exact = TokenCounter("gpt-4o", encodings)
    text = "The quarterly report shows revenue grew in every region. " * 40
    assert not glm.exact and glm.text(text) == math.ceil(exact.text(text) * 1.3)


def test_counts_before_the_encoding_loads_are_generous_guesses():
    counter = TokenCounter("gpt-4o", _NeverLoaded())  # type: ignore[arg-type]
    text = "ordinary words in an ordinary sentence " * 10
    assert counter.text(text) == math.ceil(len(text) / 3)


class _NeverLoaded:
    def start(self, name: str) -> None:
        pass

    def get(self, name: str) -> None:
        return None


# --- fitting a history into a context -----------------------------------------------------------------------


class CharCounter:
    """Four characters a token, so the tests can reason about sizes exactly."""

    margin = 1.0

    def message(self, message: dict[str, Any]) -> int:
        content = message.get("content")
        size = len(content) if isinstance(content, str) else 0
        if isinstance(content, list):
            size += sum(len(p.get("text", "")) if p.get("type") == "text" else 4000 for p in content)
        size += len(json.dumps(message["tool_calls"])) if message.get("tool_calls") else 0
        return 4 + math.ceil(size / 4)

    def messages(self, messages: list[dict[str, Any]]) -> int:
        return 3 + sum(self.message(m) for m in messages)


def turn(n: int, user_chars: int = 400, result_chars: int = 0, answer: str = "ok") -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": f"question {n} " + "q" * user_chars, "display": f"q{n}"}
    ]
    if result_chars:
        call = {"id": f"call_{n}", "type": "function", "function": {"name": "toy__words", "arguments": "{}"}}
        messages += [
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": f"call_{n}", "content": f"result {n} " + "r" * result_chars},
        ]
    messages.append({"role": "assistant", "content": f"{answer} {n}"})
    return messages


SYSTEM = [{"role": "system", "content": "You are helpful."}]


def test_a_history_that_fits_is_sent_whole():
    history = turn(1) + turn(2)
    fitted = budget.fit(SYSTEM, history, tools_tokens=100, limit=10_000, counter=CharCounter())
    assert fitted.messages[1:] == [budget.api_message(m) for m in history]
    assert fitted.left_out_turns == 0 and fitted.shortened == 0 and fitted.first_kept == 0


def test_old_tool_results_are_shortened_before_any_turn_is_left_out():
    history = turn(1, result_chars=8000) + turn(2, result_chars=8000) + turn(3)
    counter = CharCounter()
    whole = counter.messages(SYSTEM + history)
    fitted = budget.fit(SYSTEM, history, tools_tokens=0, limit=whole - 1000, counter=counter)
    assert fitted.left_out_turns == 0 and fitted.shortened == 1
    results = [m["content"] for m in fitted.messages if m["role"] == "tool"]
    assert "shortened to fit" in results[0] and len(results[0]) < 700 and results[1].endswith("r" * 100)


def test_the_oldest_turns_go_first_and_the_newest_stay_intact():
    history = [m for n in range(1, 11) for m in turn(n, result_chars=3000)] + turn(11)
    counter = CharCounter()
    fitted = budget.fit(SYSTEM, history, tools_tokens=500, limit=1500, counter=counter)
    assert fitted.left_out_turns > 0 and fitted.tokens <= 1500
    users = [m["content"] for m in fitted.messages if m["role"] == "user"]
    assert users[-1] == history[-2]["content"], "the current message is whole"
    assert users[-2] == history[-6]["content"] and users[-2].startswith("question 10 ")
    assert fitted.messages[1]["role"] == "user", "the kept part starts at a turn"


def test_a_long_current_result_does_not_push_out_the_turn_before():
    history = turn(1) + turn(2, result_chars=40_000)[:-1]
    fitted = budget.fit(SYSTEM, history, tools_tokens=200, limit=2000, counter=CharCounter())
    assert fitted.left_out_turns == 0 and fitted.tokens <= 2000
    assert "shortened to fit" in fitted.messages[-1]["content"]


def test_a_message_too_large_for_any_room_is_cut_and_then_refused():
    history = [{"role": "user", "content": "look at this page " + "p" * 40_000}]
    fitted = budget.fit(SYSTEM, history, tools_tokens=0, limit=2000, counter=CharCounter())
    assert fitted.tokens <= 2000 and "of this message left out" in fitted.messages[-1]["content"]
    with pytest.raises(budget.ContextTooSmall, match="choose a model with a larger context"):
        budget.fit(SYSTEM, history, tools_tokens=5000, limit=2000, counter=CharCounter())


def test_images_of_earlier_turns_are_left_out_first():
    image = {"role": "user", "synthetic": True, "content": [{"type": "text", "text": "images:"}, {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}  # fmt: skip
    first = turn(1, result_chars=10)
    history = [*first[:-1], image, first[-1], *turn(2)]
    fitted = budget.fit(SYSTEM, history, tools_tokens=0, limit=1000, counter=CharCounter())
    assert fitted.left_out_turns == 0
    sent_image = next(m for m in fitted.messages if isinstance(m.get("content"), list))
    assert sent_image["content"][1] == {"type": "text", "text": "[image left out to fit the model's context]"}
    assert "synthetic" not in sent_image, "only the API's fields are sent"


def test_repair_answers_a_call_the_host_never_finished():
    call = {"id": "c1", "type": "function", "function": {"name": "x", "arguments": "{}"}}
    history = [
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "user", "content": "b"},
        {"role": "tool", "tool_call_id": "stray", "content": "an answer to nothing"},
    ]
    repaired = budget.repair(history)
    assert [m["role"] for m in repaired] == ["user", "assistant", "tool", "user"]
    assert repaired[2] == {
        "role": "tool",
        "tool_call_id": "c1",
        "content": "no result: the turn was interrupted",
    }


@st.composite
def histories(draw: Any) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    for n in range(draw(st.integers(1, 12))):
        messages.append({"role": "user", "content": "u" * draw(st.integers(1, 3000))})
        for r in range(draw(st.integers(0, 3))):
            calls = [
                {"id": f"c{n}_{r}_{k}", "type": "function", "function": {"name": "t", "arguments": "{}"}}
                for k in range(draw(st.integers(1, 3)))
            ]
            messages.append({"role": "assistant", "content": None, "tool_calls": calls})
            for call in calls:
                messages.append(
                    {
                        "role": "tool",
                        "tool_call_id": call["id"],
                        "content": "r" * draw(st.integers(0, 20_000)),
                    }
                )
        messages.append({"role": "assistant", "content": "a" * draw(st.integers(0, 2000))})
    return messages[:-1] if draw(st.booleans()) else messages


@settings(max_examples=200, deadline=None)
@given(history=histories(), limit=st.integers(300, 12_000), tools=st.integers(0, 400))
def test_whatever_is_sent_fits_and_never_separates_a_call_from_its_result(history, limit, tools):
    try:
        fitted = budget.fit(SYSTEM, history, tools_tokens=tools, limit=limit, counter=CharCounter())
    except budget.ContextTooSmall:
        return
    assert fitted.tokens <= limit
    assert fitted.tokens == tools + CharCounter().messages(fitted.messages)
    sent = fitted.messages[1:]
    assert sent and sent[0]["role"] == "user"
    assert fitted.shortened <= sum(1 for m in sent if m["role"] == "tool"), "counts only what was sent"
    last_user = max(i for i, m in enumerate(history) if m["role"] == "user")
    assert len(sent) == len(history) - fitted.first_kept and fitted.first_kept <= last_user
    open_calls: list[str] = []
    for message in sent:
        if message["role"] == "tool":
            assert message["tool_call_id"] in open_calls, "a result without its call"
            open_calls.remove(message["tool_call_id"])
        else:
            assert not open_calls, "a call without its result"
            open_calls = [c["id"] for c in message.get("tool_calls") or []]
    assert not open_calls


def test_room_is_kept_for_the_answer():
    assert budget.reserve_for_answer(4096) == 1024
    assert budget.reserve_for_answer(128_000) == 4096
    assert budget.reserve_for_answer(128_000, max_completion=2000) == 2000
    assert budget.reserve_for_answer(512) == 256


# --- what endpoints say ---------------------------------------------------------------------------------------


class StatusError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status
        self.message = message


@pytest.mark.parametrize(
    ("words", "maximum", "requested"),
    [
        ("This model's maximum context length is 4096 tokens. However, your messages resulted in 5120 tokens. Please reduce the length of the messages.", 4096, 5120),
        ("This model's maximum context length is 8192 tokens. However, you requested 9000 tokens (8000 in the messages, 1000 in the completion).", 8192, 9000),
        ("This endpoint's maximum context length is 131,072 tokens. However, you requested about 140,210 tokens (139,000 of text input).", 131072, 140210),
        ("prompt is too long: 210000 tokens > 200000 maximum", None, None),
        ("Input validation error: context window exceeded", None, None),
    ],
)  # fmt: skip
def test_context_exceeded_answers_are_understood(words, maximum, requested):
    said = context_exceeded(StatusError(400, words))
    assert said is not None and (said.maximum, said.requested) == (maximum, requested)


def test_other_refusals_are_not_taken_for_a_full_context():
    assert context_exceeded(StatusError(400, "tools: unknown parameter")) is None
    assert context_exceeded(StatusError(500, "maximum context length is 4096 tokens")) is None


def test_the_model_list_in_openrouters_shape():
    models = parse_models(
        {
            "data": [
                {"id": "z-ai/glm-4.5-air:free", "name": "Z.AI: GLM 4.5 Air (free)", "context_length": 131072,
                 "pricing": {"prompt": "0", "completion": "0"}, "supported_parameters": ["tools", "tool_choice"],
                 "architecture": {"input_modalities": ["text"]}, "top_provider": {"max_completion_tokens": 96000}},
                {"id": "openai/gpt-4o-mini", "name": "OpenAI: GPT-4o-mini", "context_length": 128000,
                 "pricing": {"prompt": "0.00000015", "completion": "0.0000006", "request": "0"},
                 "supported_parameters": ["tools"], "architecture": {"input_modalities": ["text", "image"]}},
                {"id": "some/router", "pricing": {"prompt": "-1", "completion": "-1"}},
                {"id": ""}, "not an object", {"name": "no id"},
            ]
        }
    )  # fmt: skip
    assert [m.id for m in models] == ["openai/gpt-4o-mini", "some/router", "z-ai/glm-4.5-air:free"]
    mini, router, glm = models
    assert (mini.context_length, mini.tools, mini.images) == (128000, True, True)
    assert mini.cost(1_000_000, 1_000_000) == pytest.approx(0.75)
    assert (glm.tools, glm.images, glm.max_completion, glm.cost(5000, 500)) == (True, False, 96000, 0.0)
    assert router.tools is None and router.prompt_price is None and router.cost(10, 10) is None
    assert parse_models([{"id": "llama3"}])[0].context_length is None  # a bare list, as some servers send


def test_the_list_is_kept_and_a_failure_is_remembered_briefly():
    asyncio.run(_keeping())


async def _keeping() -> None:
    catalogue = ModelCatalogue()
    asked = []

    async def fetch() -> Any:
        asked.append(1)
        return {"data": [{"id": "m"}]}

    async def broken() -> Any:
        raise StatusError(404, "not found")

    assert [m.id for m in (await catalogue.models("u", fetch))[0]] == ["m"]
    await catalogue.models("u", fetch)
    assert len(asked) == 1
    await catalogue.models("u", fetch, fresh=True)
    assert len(asked) == 2
    models, problem = await catalogue.models("v", broken)
    assert models is None and "HTTP 404" in problem


# --- arguments, prompt, export --------------------------------------------------------------------------------


def test_arguments_are_checked_against_the_tools_schema():
    schema = {"type": "object", "properties": {"text": {"type": "string"}, "n": {"type": "integer", "minimum": 1}},
              "required": ["text"], "additionalProperties": False}  # fmt: skip
    assert validate_arguments(schema, {"text": "hi", "n": 2}) is None
    problem = validate_arguments(schema, {"text": 5, "n": 0, "extra": True})
    assert problem is not None
    assert "text: 5 is not of type 'string'" in problem and "n: 0 is less than the minimum of 1" in problem
    assert "'extra' was unexpected" in problem
    assert "'text' is a required property" in (validate_arguments(schema, {}) or "")
    assert validate_arguments({"type": "not-a-type"}, {"x": 1}) is None, (
        "a broken schema is the server's problem"
    )
    assert validate_arguments(None, {"x": 1}) is None


def test_the_system_prompt_names_the_date_and_servers_and_keeps_the_persons_braces():
    day = datetime.date(2026, 3, 9)
    text = prompt.render(None, ["Notion · Acme (tools named notion__…): 14 tools"], day)
    assert (
        "Today is Monday, 2026-03-09." in text and "- Notion · Acme (tools named notion__…): 14 tools" in text
    )
    assert "approves" in text
    own = prompt.render('Be brief. {today}. Servers: {servers}. JSON like {"a": 1} stays.', [], day)
    assert own == f'Be brief. Monday, 2026-03-09. Servers: {prompt.NO_SERVERS}. JSON like {{"a": 1}} stays.'

    assert prompt.render("   ", [], day) == prompt.render(None, [], day)


def test_a_conversation_exports_as_markdown():
    call = {
        "id": "c1",
        "type": "function",
        "function": {"name": "sqlite__read_query", "arguments": '{"query":"SELECT 1"}'},
    }
    messages = [
        {"role": "user", "content": "How many? [page]", "display": "How many?", "context": {"url": "https://ex.com/a", "title": "A page"}},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "1" * 1500},
        {"role": "user", "synthetic": True, "content": [{"type": "text", "text": "images"}]},
        {"role": "assistant", "content": "| n |\n|---|\n| 1 |"},
    ]  # fmt: skip
    markdown = to_markdown(
        "Counting", messages, {"prompt_tokens": 1200, "completion_tokens": 30, "cost": 0.0012}
    )
    assert markdown.startswith("# Counting\n\n**You:** How many?\n")
    assert "*With the page: A page https://ex.com/a*" in markdown
    assert '> Tool call `sqlite__read_query` with `{"query": "SELECT 1"}`' in markdown
    assert "> Result of `sqlite__read_query`:" in markdown and "(500 more characters)" in markdown
    assert "**Assistant:** | n |" in markdown and "images" not in markdown
    assert "1,200 tokens in, 30 out, $0.0012" in markdown
