"""The chat against endpoints that behave like real ones: small contexts that refuse long requests, model lists
with prices, usage at the end of a stream, OpenRouter's attribution headers; and tool arguments checked before a
server sees them, and the conversation verbs. Through the real host, with a scripted OpenAI-compatible server."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import pytest

from devkit.host_process import HostProcess, write_config
from tests.support.connect_proxy import ConnectProxy
from tests.support.processes import ROOT
from tests.support.scripted_llm import ScriptedLLM
from tests.support.tls import make_certificates

PROMPT_PRICE, COMPLETION_PRICE = 0.000002, 0.00001

MODELS = [
    {"id": "scripted/small-4k", "name": "Scripted Small 4K", "context_length": 4096,
     "pricing": {"prompt": str(PROMPT_PRICE), "completion": str(COMPLETION_PRICE)},
     "supported_parameters": ["tools", "tool_choice", "temperature"], "architecture": {"input_modalities": ["text"]}},
    {"id": "scripted/vision", "name": "Scripted Vision", "context_length": 32768,
     "pricing": {"prompt": "0.000001", "completion": "0.000004"},
     "supported_parameters": ["tools"], "architecture": {"input_modalities": ["text", "image"]}},
    {"id": "scripted/chatty", "name": "Scripted Chatty (no tools)", "context_length": 8192,
     "pricing": {"prompt": "0", "completion": "0"}, "supported_parameters": ["temperature"]},
]  # fmt: skip


@pytest.fixture
def llm():
    with ScriptedLLM() as server:
        server.models = MODELS
        yield server


def toy(server_id: str = "toy", command: list[str] | None = None, only: list[str] | None = None) -> dict:
    """The toy server's configuration; with ``only``, every other tool of it switched off (``disabled_tools``)."""
    entry = {"id": server_id, "name": server_id.title(), "kind": "stdio", "cwd": str(ROOT), "trusted": True,
             "command": command or [sys.executable, "-m", "tests.support.toy_server", "stdio"]}  # fmt: skip
    if only is not None:
        entry["disabled_tools"] = [name for name in toy_tools() if name not in only]
    return entry


def toy_tools() -> list[str]:
    """The names of the toy server's tools, from the server itself."""
    from tests.support.toy_server import server

    return [tool.name for tool in asyncio.run(server.list_tools())]


def start(
    home: Path, llm: ScriptedLLM, model: str, servers: list[dict] | None = None, **kwargs
) -> HostProcess:
    servers = [toy()] if servers is None else servers
    write_config(home, servers)
    host = HostProcess(home, **kwargs)
    host.result("llm.configure", base_url=llm.base_url, model=model, api_key="sk-test-key")
    for server in servers:
        host.wait_state(server["id"], "connected", timeout=30)
    return host


def events(host: HostProcess, kind: str, conversation_id: str | None = None) -> list[dict]:
    return [
        f
        for f in host.frames
        if f.get("type") == kind and (conversation_id is None or f["conversation_id"] == conversation_id)
    ]


def words_of(n: int, tokens: int) -> str:
    """A message of about ``tokens`` tokens of ordinary prose (each sentence is 11 tokens in o200k_base)."""
    sentence = "We checked the figures for the northern stores again today. "
    return f"Turn {n}: " + sentence * (tokens // 11)


def test_twenty_five_turns_with_long_tool_results_fit_a_4k_model(host_home, llm):
    llm.context_limit = 4096
    # Only the tool the turns call: the test measures how the conversation is fitted, not how many tools the toy
    # server has (each one's definition goes with every request and takes its share of the 4,096 tokens).
    host = start(host_home, llm, "scripted/small-4k", servers=[toy(only=["words"])])
    assert [t["name"] for t in host.result("tools.list", server="toy")["tools"]] == ["words"]
    conversation = host.result("chat.new")["conversation_id"]
    turns = 25
    for n in range(1, turns + 1):
        llm.plan += [
            {"tool_calls": [{"name": "toy__words", "arguments": {"kib": 50}}]},
            {"pieces": [f"Answer {n}: ", "the figures hold."]},
        ]
    asked = [words_of(n, 500) for n in range(1, turns + 1)]
    assert 480 <= llm.count({"messages": [{"role": "user", "content": asked[0]}]}) <= 520
    for n, text in enumerate(asked, start=1):
        reply = host.result("chat.send", conversation_id=conversation, text=text, timeout=60)
        assert reply["text"] == f"Answer {n}: the figures hold.", f"turn {n}"

    assert len(llm.requests) == 2 * turns, "every request was accepted: none was refused as too long"
    assert max(llm.prompt_tokens) <= 4096 - 1024, "room for the answer was kept in every request"
    results = [e for e in events(host, "chat.tool") if e["status"] == "done"]
    assert len(results) == turns and all(len(e["result"]["content"][0]["text"]) >= 50 * 1024 for e in results)
    for request in llm.requests:
        messages = request["messages"]
        assert messages[0]["role"] == "system" and "Notion MCP Bridge" in messages[0]["content"]
        # No call without its result, no result without its call.
        open_calls: list[str] = []
        for message in messages[1:]:
            if message["role"] == "tool":
                assert message["tool_call_id"] in open_calls
                open_calls.remove(message["tool_call_id"])
            else:
                assert not open_calls
                open_calls = [c["id"] for c in message.get("tool_calls") or []]
        assert not open_calls
    # The newest turns went whole: this turn's message and the turn before it, word for word.
    last = llm.requests[-1]["messages"]
    users = [m["content"] for m in last if m["role"] == "user"]
    assert users[-1] == asked[-1] and users[-2] == asked[-2]
    assert any(
        m["role"] == "assistant" and m.get("content") == f"Answer {turns - 1}: the figures hold."
        for m in last
    )
    assert asked[0] not in users, "the oldest turns were left out"
    assert any("shortened to fit the model's context" in m["content"] for m in last if m["role"] == "tool")

    fits = events(host, "chat.context", conversation)
    print(
        f"figures: {len(llm.requests)} requests, largest {max(llm.prompt_tokens)} tokens of 4096,"
        f" last one left out {fits[-1]['left_out_turns']} turns and shortened {fits[-1]['shortened']} results"
    )
    assert all(f["context_length"] == 4096 and f["prompt_tokens"] <= 3072 for f in fits)
    assert fits[-1]["left_out_turns"] >= 20 and fits[-1]["summarized"] is False
    history = host.result("chat.history", conversation_id=conversation)
    assert history["context"] == {k: v for k, v in fits[-1].items() if k not in ("type", "conversation_id")}
    assert len([m for m in history["messages"] if m["role"] == "user"]) == turns, (
        "the history keeps everything"
    )

    usage = events(host, "chat.usage", conversation)
    assert len(usage) == turns and not any(u["estimated"] for u in usage)
    prompt_tokens, completion_tokens = sum(llm.prompt_tokens), 7 * len(llm.requests)
    expected = prompt_tokens * PROMPT_PRICE + completion_tokens * COMPLETION_PRICE
    final = usage[-1]["conversation"]
    assert (final["prompt_tokens"], final["completion_tokens"]) == (prompt_tokens, completion_tokens)
    assert final["cost"] == pytest.approx(expected)
    assert history["usage"] == final
    first_turn = usage[0]["turn"]
    assert first_turn == {
        "prompt_tokens": llm.prompt_tokens[0] + llm.prompt_tokens[1],
        "completion_tokens": 14,
        "cost": pytest.approx(
            (llm.prompt_tokens[0] + llm.prompt_tokens[1]) * PROMPT_PRICE + 14 * COMPLETION_PRICE
        ),
    }


def test_the_model_list_gives_context_price_and_abilities(host_home, llm):
    host = start(host_home, llm, "scripted/small-4k", servers=[])
    listed = host.result("llm.models")
    assert listed["base_url"] == llm.base_url and listed["default_model"] is None
    by_id = {m["id"]: m for m in listed["models"]}
    assert set(by_id) == {"scripted/small-4k", "scripted/vision", "scripted/chatty"}
    assert by_id["scripted/small-4k"] == {
        "id": "scripted/small-4k", "name": "Scripted Small 4K", "context_length": 4096, "prompt_price": PROMPT_PRICE,
        "completion_price": COMPLETION_PRICE, "request_price": None, "tools": True, "images": False,
        "max_completion": None,
    }  # fmt: skip
    assert by_id["scripted/chatty"]["tools"] is False and by_id["scripted/vision"]["images"] is True
    asked = len(llm.headers)
    host.result("llm.models")
    assert len(llm.headers) == asked, "kept, not asked again"
    host.result("llm.models", fresh=True)
    assert len(llm.headers) == asked + 1
    assert "http-referer" not in llm.headers[-1] and "x-title" not in llm.headers[-1], "OpenRouter's only"

    llm.models = None
    missing = host.result("llm.models", fresh=True)
    assert missing["models"] == [] and "HTTP 404" in missing["error"]


def test_openrouter_gets_the_bridges_name_and_its_default_model(host_home, tmp_path):
    """The host really talks to https://openrouter.ai/api/v1: a proxy on this machine takes the connection to
    the scripted server, which answers with a certificate for openrouter.ai from an authority only this test
    trusts. Nothing leaves the machine."""
    certificates = make_certificates(tmp_path, "openrouter.ai")
    with ScriptedLLM(tls=(str(certificates.cert_file), str(certificates.key_file))) as llm:
        llm.models = [{**MODELS[0], "id": "z-ai/glm-4.5-air:free", "name": "Z.AI: GLM 4.5 Air (free)"}]
        with ConnectProxy(llm.port) as proxy:
            write_config(host_home, [])
            host = HostProcess(
                host_home, env={"HTTPS_PROXY": proxy.url, "SSL_CERT_FILE": str(certificates.ca_file), "NO_PROXY": ""}
            )  # fmt: skip
            config = host.result("config.get")["llm"]
            assert (config["base_url"], config["model"]) == (
                "https://openrouter.ai/api/v1",
                "z-ai/glm-4.5-air:free",
            )
            host.result(
                "llm.configure", base_url=config["base_url"], model=config["model"], api_key="sk-or-test"
            )
            listed = host.result("llm.models")
            assert listed["default_model"] == "z-ai/glm-4.5-air:free" and listed["models"][0]["tools"] is True
            llm.plan = [{"text": "Hello from the free model."}]
            assert host.result("chat.send", text="hi", timeout=30)["text"] == "Hello from the free model."
            host.close()
        assert set(proxy.targets) == {"openrouter.ai:443"}
    assert llm.requests[0]["model"] == "z-ai/glm-4.5-air:free"
    assert len(llm.headers) == 2  # the model list and the chat request
    for headers in llm.headers:
        assert headers["http-referer"] == "chrome-extension://aikfhgidlkadhpijaojkkpakcdplakaf/"
        assert headers["x-title"] == "Notion MCP Bridge"
        assert headers["host"] == "openrouter.ai"
    assert llm.headers[1]["authorization"] == "Bearer sk-or-test"


def test_a_model_that_is_not_on_openrouter_gets_no_attribution_headers(host_home, llm):
    host = start(host_home, llm, "scripted/small-4k", servers=[])
    llm.plan = [{"text": "ok"}]
    host.result("chat.send", text="hi", timeout=30)
    assert llm.headers and all("x-title" not in h and "http-referer" not in h for h in llm.headers)


def test_invalid_arguments_go_back_to_the_model_and_never_reach_the_server(host_home, llm):
    tap = host_home / "toy-received.jsonl"
    command = [sys.executable, "-m", "tests.support.stdio_tap", str(tap), sys.executable, "-m", "tests.support.toy_server", "stdio"]  # fmt: skip
    host = start(host_home, llm, "scripted/small-4k", servers=[toy(command=command)])
    llm.plan = [
        {"tool_calls": [{"name": "toy__echo", "arguments": {"text": 5}}]},
        {"tool_calls": [{"name": "toy__echo", "arguments": {"words": "five"}}]},
        {"tool_calls": [{"name": "toy__echo", "arguments": {"text": "five"}}]},
        {"text": "It said five."},
    ]
    reply = host.result("chat.send", text="echo five", timeout=30)
    assert len(llm.requests) == 4, "each correction took one of the turn's rounds"
    assert reply["text"] == "It said five."
    told = next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert "do not match toy__echo's input schema, so the tool was not called" in told
    assert "text: 5 is not of type 'string'" in told, told
    told = [m for m in llm.requests[2]["messages"] if m["role"] == "tool"][-1]["content"]
    assert "'text' is a required property" in told, told
    cards = events(host, "chat.tool")
    assert [c["status"] for c in cards] == ["error", "error", "running", "done"]
    assert cards[0]["error"].startswith("invalid arguments, sent back to the model")
    calls = [json.loads(line) for line in tap.read_text().splitlines() if '"tools/call"' in line]
    assert [c["params"]["arguments"] for c in calls] == [{"text": "five"}], (
        "the server saw only the valid call"
    )


def test_a_refusal_for_length_is_retried_once_with_less(host_home, llm):
    """The model list claims 8,192 tokens but the endpoint takes 3,000: its refusal says so, and the turn is
    answered by a second, smaller request, not failed."""
    llm.models = [{**MODELS[0], "context_length": 8192}]
    llm.context_limit = 3000
    host = start(host_home, llm, "scripted/small-4k")
    conversation = host.result("chat.new")["conversation_id"]
    llm.plan = [{"text": f"Answer {n}"} for n in range(1, 7)]
    for n in range(1, 7):
        assert (
            host.result("chat.send", conversation_id=conversation, text=words_of(n, 600), timeout=60)["text"]
            == f"Answer {n}"
        )
    refused = [t for t in llm.prompt_tokens if t > 3000]
    assert len(refused) == 1, f"one request was refused, then the host knew: {llm.prompt_tokens}"
    assert len(llm.requests) == 7
    assert events(host, "chat.context", conversation)[-1]["context_length"] == 3000
    assert not events(host, "chat.error")


def test_an_endpoint_without_usage_reports_gets_the_hosts_count(host_home, llm):
    llm.refuse_stream_options = True
    host = start(host_home, llm, "scripted/small-4k", servers=[])
    llm.plan = [{"text": "first"}, {"text": "second"}]
    host.result("chat.send", text="hello", timeout=30)
    host.result("chat.send", text="again", timeout=30)
    assert ["stream_options" in r for r in llm.requests] == [True, False, False], "asked once, then not"
    usage = events(host, "chat.usage")
    assert all(u["estimated"] for u in usage)
    counted = usage[0]["turn"]["prompt_tokens"]
    assert llm.prompt_tokens[1] <= counted <= llm.prompt_tokens[1] * 1.5, "a cautious count"
    assert usage[0]["turn"]["cost"] == pytest.approx(
        counted * PROMPT_PRICE + usage[0]["turn"]["completion_tokens"] * COMPLETION_PRICE
    )


def test_turns_that_no_longer_fit_are_summarised_when_asked(host_home, llm):
    llm.context_limit = 4096
    host = start(host_home, llm, "scripted/small-4k", servers=[])
    host.result("llm.configure", base_url=llm.base_url, model="scripted/small-4k", summarize=True)
    conversation = host.result("chat.new")["conversation_id"]
    summaries = 0
    for n in range(1, 9):
        llm.plan.append({"text": f"Answer {n}"})
        host.result("chat.send", conversation_id=conversation, text=words_of(n, 600), timeout=60)
        summaries = sum(1 for r in llm.requests if not r.get("stream"))
        if summaries:
            break
        llm.plan.insert(0, {"text": "They checked the northern stores' figures, turn after turn."})
    assert summaries == 1
    summarise = next(r for r in llm.requests if not r.get("stream"))
    assert (
        "Turn 1:" in summarise["messages"][1]["content"]
        and "Summary so far" not in summarise["messages"][1]["content"]
    )
    last = llm.requests[-1]["messages"]
    assert last[1]["role"] == "system" and "They checked the northern stores' figures" in last[1]["content"]
    assert all("Turn 1:" not in (m.get("content") or "") for m in last[2:])
    fit = events(host, "chat.context", conversation)[-1]
    assert fit["summarized"] is True and fit["left_out_turns"] >= 1


def test_images_from_tools_reach_a_model_that_sees_them_and_are_described_to_one_that_does_not(
    host_home, llm
):
    host = start(host_home, llm, "scripted/vision")
    llm.plan = [{"tool_calls": [{"name": "toy__picture", "arguments": {}}]}, {"text": "An orange box."}]
    host.result("chat.send", text="show me the picture", timeout=30)
    done = next(e for e in events(host, "chat.tool") if e["status"] == "done")
    image = done["result"]["content"][0]
    assert image["type"] == "image" and image["mimeType"] == "image/png"
    messages = llm.requests[1]["messages"]
    assert "it follows in the next message" in next(m for m in messages if m["role"] == "tool")["content"]
    parts = messages[-1]["content"]
    assert messages[-1]["role"] == "user" and parts[1] == {
        "type": "image_url",
        "image_url": {"url": f"data:image/png;base64,{image['data']}"},
    }
    conversation = done["conversation_id"]
    shown = host.result("chat.history", conversation_id=conversation)["messages"]
    assert [m.get("synthetic", False) for m in shown if m["role"] == "user"] == [False, True]

    host.result("llm.configure", base_url=llm.base_url, model="scripted/small-4k")
    llm.plan = [{"tool_calls": [{"name": "toy__picture", "arguments": {}}]}, {"text": "I cannot see it."}]
    host.result("chat.send", text="and now?", timeout=30)
    messages = llm.requests[3]["messages"]
    told = [m for m in messages if m["role"] == "tool"][-1]["content"]
    assert "returned an image (image/png" in told and "you cannot" in told
    assert not any(isinstance(m.get("content"), list) and any(p.get("type") == "image_url" for p in m["content"]) for m in messages[-2:])  # fmt: skip


def test_the_system_prompt_is_the_persons_own_until_reset(host_home, llm):
    host = start(host_home, llm, "scripted/small-4k")
    config = host.result("config.get")["llm"]
    assert config["system_prompt"] is None and "{servers}" in config["default_system_prompt"]
    llm.plan = [{"text": "one"}, {"text": "two"}, {"text": "three"}]
    host.result("chat.send", text="hi", timeout=30)
    system = llm.requests[0]["messages"][0]["content"]
    assert "- Toy (tools named toy__…): " in system and "Today is" in system and "{today}" not in system
    configured = host.result(
        "llm.configure", base_url=llm.base_url, model="scripted/small-4k", system_prompt="Answer like a pirate. {servers}",
        context_length=2048,
    )  # fmt: skip
    assert (
        configured["system_prompt"] == "Answer like a pirate. {servers}"
        and configured["context_length"] == 2048
    )
    host.result("chat.send", text="hi", timeout=30)
    assert llm.requests[1]["messages"][0]["content"].startswith(
        "Answer like a pirate. - Toy (tools named toy__…)"
    )
    assert events(host, "chat.context")[-1]["context_length"] == 2048, (
        "the person's setting wins over the list's"
    )
    kept = host.result("llm.configure", base_url=llm.base_url, model="scripted/small-4k")
    assert kept["system_prompt"] == "Answer like a pirate. {servers}", "absent keeps it"
    reset = host.result(
        "llm.configure",
        base_url=llm.base_url,
        model="scripted/small-4k",
        system_prompt=None,
        context_length=None,
    )
    assert reset["system_prompt"] is None and reset["context_length"] is None
    host.result("chat.send", text="hi", timeout=30)
    assert "You are the assistant of Notion MCP Bridge" in llm.requests[2]["messages"][0]["content"]
    refused = host.request("llm.configure", base_url=llm.base_url, model="m", context_length=100)
    assert refused["ok"] is False and "context_length" in refused["error"]["message"]


def test_rename_search_export_regenerate_and_edit(host_home, llm):
    host = start(host_home, llm, "scripted/small-4k")
    llm.plan = [
        {"text": "Paris is the capital."},
        {"text": "Rome, last I checked."},
        {"text": "Lyon is second."},
    ]
    first = host.result("chat.send", text="What is the capital of France?", timeout=30)["conversation_id"]
    second = host.result("chat.send", text="And of Italy?", timeout=30)["conversation_id"]

    assert host.result("chat.rename", conversation_id=first, title="  Geography  ") == {
        "conversation_id": first,
        "title": "Geography",
    }
    assert (
        host.request("chat.rename", conversation_id="nope", title="x")["error"]["code"]
        == "unknown_conversation"
    )
    assert (
        host.request("chat.rename", conversation_id=first, title="   ")["error"]["code"]
        == "invalid_arguments"
    )

    found = host.result("chat.search", query="CAPITAL")["conversations"]
    assert [c["id"] for c in found] == [first] and "capital" in found[0]["snippet"]
    assert [c["id"] for c in host.result("chat.search", query="rome")["conversations"]] == [second]
    assert [c["id"] for c in host.result("chat.search", query="geograph")["conversations"]] == [first]
    assert host.result("chat.search", query="Berlin")["conversations"] == []

    exported = host.result("chat.export", conversation_id=first)
    assert exported["title"] == "Geography"
    assert exported["markdown"].startswith(
        "# Geography\n\n**You:** What is the capital of France?\n\n**Assistant:** Paris is the capital."
    )

    regenerated = host.result("chat.regenerate", conversation_id=first, timeout=30)
    assert regenerated["text"] == "Lyon is second."
    messages = host.result("chat.history", conversation_id=first)["messages"]
    assert [(m["role"], m["content"]) for m in messages] == [
        ("user", "What is the capital of France?"), ("assistant", "Lyon is second.")]  # fmt: skip
    assert llm.requests[-1]["messages"][1:] == [{"role": "user", "content": "What is the capital of France?"}]

    llm.plan = [{"text": "Madrid."}]
    edited = host.result("chat.edit", conversation_id=first, text="What is the capital of Spain?", timeout=30)
    assert edited == {"conversation_id": first, "text": "Madrid."}
    messages = host.result("chat.history", conversation_id=first)["messages"]
    assert [m["content"] for m in messages] == ["What is the capital of Spain?", "Madrid."]
    usage = host.result("chat.history", conversation_id=first)["usage"]
    assert usage["prompt_tokens"] == sum(llm.prompt_tokens[i] for i in (0, 2, 3)), (
        "replaced answers still cost"
    )

    empty = host.result("chat.new")["conversation_id"]
    refused = host.request("chat.regenerate", conversation_id=empty)
    assert refused["ok"] is False and "no message to answer again" in refused["error"]["message"]
