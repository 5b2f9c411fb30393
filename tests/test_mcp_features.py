"""Everything an MCP server offers besides tools, through the host as the extension uses it: resources (static,
templated, binary, subscribed), prompts with arguments and completion, progress and cancellation, log messages,
sampling with the person in between, roots, list changes, tools switched off, custom headers, the client's name.

Against tests/support/feature_server.py (built on the SDK, started here) in both eras of the protocol: the
handshake era that Notion's server and most in the wild speak, and 2026-07-28, which the SDK's servers speak.
"""

from __future__ import annotations

import base64
import itertools
import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from devkit.host_process import HostProcess
from tests.support.feature_server import PIXEL
from tests.support.figures import record
from tests.support.processes import ROOT, free_port, wait_until_serving
from tests.support.scripted_llm import ScriptedLLM

ERAS = ["legacy", "modern"]
LEVELS = ["debug", "info", "notice", "warning", "error", "critical", "alert", "emergency"]


def feature_server(era: str, log: Path, **fields: Any) -> dict[str, Any]:
    return {
        "id": "feat",
        "name": "Features",
        "kind": "stdio",
        "command": [sys.executable, "-m", "tests.support.feature_server", "stdio"],
        "env": {"FEATURE_ERA": era, "FEATURE_LOG": str(log), "PYTHONPATH": str(ROOT)},
        **fields,
    }


@pytest.fixture(params=ERAS)
def era(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def feature_log(tmp_path: Path) -> Path:
    return tmp_path / "feature.log"


@pytest.fixture
def host(spawn_host, era: str, feature_log: Path) -> HostProcess:
    started = spawn_host([feature_server(era, feature_log)])
    entry = started.wait_state("feat", "connected", timeout=30)
    assert entry["capabilities"] == ["resources", "subscribe", "prompts", "completions", "logging"]
    return started


def drain(host: HostProcess, kind: str | None = None) -> list[dict[str, Any]]:
    """Every event received so far (of one type), taken off the queue."""
    taken = []
    while not host.events.empty():
        event = host.events.get()
        if kind is None or event["type"] == kind:
            taken.append(event)
    return taken


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


def wait_lines(path: Path, needle: str, timeout: float = 10) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        if needle in lines:
            return lines
        time.sleep(0.01)
    raise AssertionError(f"the server never noted {needle!r}; it noted {lines}")


# --- resources -------------------------------------------------------------------------------------------------


def test_static_templated_and_binary_resources(host: HostProcess) -> None:
    listed = host.result("resources.list", server="feat")["resources"]
    assert {r["uri"]: r["mimeType"] for r in listed} == {
        "feature://static/readme.md": "text/markdown",
        "feature://static/config.json": "application/json",
        "feature://static/pixel.png": "image/png",
        "feature://static/data.bin": "application/octet-stream",
        "feature://counter": "text/plain",
    }
    assert next(r for r in listed if r["name"] == "readme")["title"] == "Read me"

    readme = host.result("resources.read", server="feat", uri="feature://static/readme.md")["contents"]
    assert readme == [
        {
            "uri": "feature://static/readme.md",
            "mimeType": "text/markdown",
            "text": "# Features\n\nA **static** resource in Markdown.\n",
        }
    ]
    config = host.result("resources.read", server="feat", uri="feature://static/config.json")["contents"][0]
    assert json.loads(config["text"]) == {"colour": "blue", "sizes": [1, 2, 3]}
    pixel = host.result("resources.read", server="feat", uri="feature://static/pixel.png")["contents"][0]
    assert pixel["mimeType"] == "image/png" and base64.b64decode(pixel["blob"]) == PIXEL
    data = host.result("resources.read", server="feat", uri="feature://static/data.bin")["contents"][0]
    assert base64.b64decode(data["blob"]) == bytes(range(256)) * 4

    templates = host.result("resources.templates", server="feat")["resourceTemplates"]
    assert [(t["uriTemplate"], t["title"]) for t in templates] == [
        ("feature://notes/{topic}", "A note about a topic")
    ]
    suggested = host.result(
        "completion.complete",
        server="feat",
        ref={"type": "ref/resource", "uri": "feature://notes/{topic}"},
        argument={"name": "topic", "value": "ap"},
    )
    assert suggested["completion"]["values"] == ["apples", "apricots"]
    note = host.result("resources.read", server="feat", uri="feature://notes/apples")["contents"][0]
    assert note["text"] == "A note about apples."

    missing = host.request("resources.read", server="feat", uri="feature://nowhere")
    assert not missing["ok"] and missing["error"]["code"] == "server_error"
    assert "Features refused reading feature://nowhere" in missing["error"]["message"]


def test_subscribed_resource_reports_its_changes_until_unsubscribed(
    host: HostProcess, era: str, feature_log: Path
) -> None:
    assert host.result("resources.subscribe", server="feat", uri="feature://counter") == {
        "subscribed": True,
        "changed": True,
    }
    again = host.result("resources.subscribe", server="feat", uri="feature://counter")
    assert again == {"subscribed": True, "changed": False}
    drain(host)
    host.result("tool.call", server="feat", tool="bump")
    updated = host.wait_for(lambda e: e["type"] == "resource.updated", timeout=10)
    assert updated == {"type": "resource.updated", "server": "feat", "uri": "feature://counter"}
    assert (
        host.result("resources.read", server="feat", uri="feature://counter")["contents"][0]["text"]
        == "count 1"
    )

    assert host.result("resources.unsubscribe", server="feat", uri="feature://counter")["changed"] is True
    host.result("tool.call", server="feat", tool="bump")
    time.sleep(1.0)
    assert drain(host, "resource.updated") == [], "no update after unsubscribing"
    if era == "legacy":
        lines = feature_log.read_text().splitlines()
        assert "subscribe feature://counter" in lines and "unsubscribe feature://counter" in lines


# --- prompts ---------------------------------------------------------------------------------------------------


def test_prompts_with_arguments_and_completion(host: HostProcess) -> None:
    prompts = host.result("prompts.list", server="feat")["prompts"]
    assert [(p["name"], [(a["name"], a["required"]) for a in p["arguments"]]) for p in prompts] == [
        ("summarize", [("text", True), ("style", False)]),
        ("greet", [("name", True)]),
    ]
    got = host.result(
        "prompts.get", server="feat", name="summarize", arguments={"text": "Long text.", "style": "formal"}
    )
    assert got["messages"] == [
        {
            "role": "user",
            "content": {"type": "text", "text": "Summarise this in a formal style:\n\nLong text."},
        }
    ]
    styles = host.result(
        "completion.complete",
        server="feat",
        ref={"type": "ref/prompt", "name": "summarize"},
        argument={"name": "style", "value": "b"},
        context={"text": "Long text."},
    )
    assert styles["completion"]["values"] == ["brief", "bulleted"]
    missing = host.request("prompts.get", server="feat", name="greet")
    assert not missing["ok"] and missing["error"]["code"] == "server_error"


# --- progress, cancellation ------------------------------------------------------------------------------------


def test_progress_of_a_long_call_arrives_as_tool_progress(host: HostProcess, era: str) -> None:
    drain(host)
    started = time.monotonic()
    call_id = host.start_request(
        "tool.call", server="feat", tool="steps", arguments={"count": 10, "seconds": 3}
    )
    progress, arrived = [], []
    while len(progress) < 10:
        event = host.next_event(timeout=10)
        if event["type"] == "tool.progress":
            progress.append(event)
            arrived.append(time.monotonic() - started)
    reply = host.reply(call_id, timeout=30)
    assert reply["ok"] and text_of(reply["result"]) == "done 10 steps"
    assert time.monotonic() - started >= 3
    assert drain(host, "tool.progress") == [], "no more than ten"
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrived)]
    record(
        f"progress_{era}",
        {
            "events": len(progress),
            "first_s": round(arrived[0], 3),
            "last_s": round(arrived[-1], 3),
            "gap_ms_min": round(min(gaps) * 1000),
            "gap_ms_max": round(max(gaps) * 1000),
        },
    )
    assert [(p["call_id"], p["progress"], p["total"]) for p in progress] == [
        (call_id, float(i), 10.0) for i in range(1, 11)
    ]
    assert [p["message"] for p in progress] == [f"step {i} of 10" for i in range(1, 11)]


@pytest.mark.parametrize("transport", ["stdio", "http"])
def test_stop_tells_the_server_which_stops(spawn_host, era: str, feature_log: Path, transport: str) -> None:
    if transport == "stdio":
        host = spawn_host([feature_server(era, feature_log)])
    else:
        port = free_port()
        env = {"FEATURE_ERA": era, "FEATURE_LOG": str(feature_log), "PYTHONPATH": str(ROOT)}
        server = _start(["http", str(port)], env)
        try:
            wait_until_serving(port)
        except AssertionError:
            server.kill()
            raise
        host = spawn_host(
            [{"id": "feat", "name": "Features", "kind": "remote", "url": f"http://127.0.0.1:{port}/mcp"}]
        )
        host._feature_process = server  # type: ignore[attr-defined]
    try:
        host.wait_state("feat", "connected", timeout=30)
        call_id = host.start_request(
            "tool.call", server="feat", tool="slow", arguments={"tag": "t1", "seconds": 30}
        )
        time.sleep(1.0)  # the call is running on the server
        pressed = time.monotonic()
        assert host.result("tool.cancel", call_id=call_id) == {"cancelled": True}
        reply = host.reply(call_id, timeout=10)
        assert not reply["ok"] and reply["error"]["code"] == "cancelled"
        lines = wait_lines(feature_log, "cancelled t1")
        seen_after = time.monotonic() - pressed
        assert "finished t1" not in lines
        record(f"stop_{era}_{transport}", {"server_saw_it_within_ms": round(seen_after * 1000)})
        # The session is still good for the next call.
        assert (
            text_of(
                host.result("tool.call", server="feat", tool="slow", arguments={"tag": "t2", "seconds": 0})
            )
            == "slept 0.0"
        )
    finally:
        process = getattr(host, "_feature_process", None)
        if process is not None:
            process.kill()
            process.wait()


def _start(args: list[str], env: dict[str, str]) -> Any:
    import os
    import subprocess

    return subprocess.Popen(
        [sys.executable, "-m", "tests.support.feature_server", *args],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


# --- logs ------------------------------------------------------------------------------------------------------


def test_log_messages_at_each_level_and_the_level_asked_for(
    host: HostProcess, era: str, feature_log: Path
) -> None:
    assert host.result("server.logs", server="feat")["level"] == "info"
    assert host.result("server.log_level", server="feat", level="debug") == {
        "server": "feat",
        "level": "debug",
    }
    drain(host)
    host.result("tool.call", server="feat", tool="log_all", arguments={"text": "first"})
    time.sleep(0.3)
    logged = drain(host, "server.log")
    assert [(e["level"], e["data"], e["logger"]) for e in logged] == [
        (level, f"first at {level}", "features") for level in LEVELS
    ]
    ring = host.result("server.logs", server="feat")
    assert ring["offered"] is True and ring["level"] == "debug"
    assert [e["level"] for e in ring["entries"]] == LEVELS

    host.result("server.log_level", server="feat", level="warning")
    host.result("tool.call", server="feat", tool="log_all", arguments={"text": "second"})
    time.sleep(0.3)
    assert [e["level"] for e in drain(host, "server.log")] == LEVELS[3:]
    if era == "legacy":
        lines = feature_log.read_text().splitlines()
        assert lines.count("level info") == 1 and "level debug" in lines and lines[-1] == "level warning"
    # The level is the server's setting: kept in the configuration for the next session.
    stored = json.loads((host.home / "config" / "config.json").read_text())
    assert stored["servers"][0]["log_level"] == "warning"


# --- sampling --------------------------------------------------------------------------------------------------


@pytest.fixture
def model(host: HostProcess) -> ScriptedLLM:
    with ScriptedLLM() as llm:
        host.result("llm.configure", base_url=llm.base_url, model="test-model")
        yield llm


def test_sampling_approved_then_edited_before_it_is_sent(host: HostProcess, model: ScriptedLLM) -> None:
    model.plan = [{"text": "Paris is the capital."}]
    drain(host)
    call_id = host.start_request(
        "tool.call", server="feat", tool="ask_model", arguments={"question": "Capital of France?"}
    )
    asked = host.wait_for(lambda e: e["type"] == "sampling.request", timeout=15)
    assert asked["server"] == "feat" and asked["server_name"] == "Features"
    assert asked["messages"] == [{"role": "user", "content": {"type": "text", "text": "Capital of France?"}}]
    assert asked["max_tokens"] == 100 and asked["system_prompt"] == "Answer in one short sentence."
    assert asked["model_preferences"]["hints"] == [{"name": "small"}] and asked["model"] == "test-model"
    assert model.requests == [], "nothing goes to the model before the person approves"

    host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
    draft = host.wait_for(lambda e: e["type"] == "sampling.draft", timeout=15)
    assert draft["text"] == "Paris is the capital." and draft["sampling_id"] == asked["sampling_id"]
    sent = model.requests[0]
    assert sent["max_tokens"] == 100 and sent["model"] == "test-model"
    assert sent["messages"] == [
        {"role": "system", "content": "Answer in one short sentence."},
        {"role": "user", "content": "Capital of France?"},
    ]

    host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve", text="Paris.")
    closed = host.wait_for(lambda e: e["type"] == "sampling.closed", timeout=15)
    assert closed["outcome"] == "sent"
    assert text_of(host.reply(call_id)["result"]) == "the model said: Paris."
    late = host.request("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
    assert late["error"]["code"] == "unknown_sampling"


@pytest.mark.parametrize("step", ["request", "draft"])
def test_sampling_declined_is_an_error_to_the_server(
    host: HostProcess, model: ScriptedLLM, step: str
) -> None:
    model.plan = [{"text": "never shown"}]
    call_id = host.start_request("tool.call", server="feat", tool="ask_model", arguments={"question": "Hm?"})
    asked = host.wait_for(lambda e: e["type"] == "sampling.request", timeout=15)
    if step == "draft":
        host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
        host.wait_for(lambda e: e["type"] == "sampling.draft", timeout=15)
    host.result("sampling.respond", sampling_id=asked["sampling_id"], action="decline")
    assert host.wait_for(lambda e: e["type"] == "sampling.closed", timeout=15)["outcome"] == "declined"
    reply = host.reply(call_id)
    assert reply["ok"] is False and "declined" in reply["error"]["message"]
    assert len(model.requests) == (0 if step == "request" else 1)


def test_sampling_keeps_to_the_models_context_as_the_chat_reckons_it(host: HostProcess) -> None:
    with ScriptedLLM() as llm:
        # The person's setting for this model's context, as the chat uses it.
        host.result("llm.configure", base_url=llm.base_url, model="test-model", context_length=1024)
        llm.plan = [{"text": "Short."}]
        call_id = host.start_request(
            "tool.call", server="feat", tool="ask_model", arguments={"question": "Hm?", "max_tokens": 5000}
        )
        asked = host.wait_for(lambda e: e["type"] == "sampling.request", timeout=15)
        assert asked["max_tokens"] == 5000, "the person sees what the server asked for"
        host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
        host.wait_for(lambda e: e["type"] == "sampling.draft", timeout=15)
        sent = llm.requests[0]["max_tokens"]
        assert 900 < sent < 1024, f"the answer gets what the messages leave of the context, not 5000: {sent}"
        host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
        assert text_of(host.reply(call_id)["result"]) == "the model said: Short."

        # Messages that leave no room for an answer are refused before the person is asked.
        drain(host)
        long_question = "We checked the figures for the northern stores again today. " * 150
        reply = host.request(
            "tool.call", server="feat", tool="ask_model", arguments={"question": long_question}, timeout=30
        )
        assert reply["ok"] is False and "the model takes 1,024 in all" in reply["error"]["message"]
        assert drain(host, "sampling.request") == [] and len(llm.requests) == 1


# --- roots -----------------------------------------------------------------------------------------------------


def test_roots_only_when_the_person_listed_folders(
    spawn_host, era: str, feature_log: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    host = spawn_host([feature_server(era, feature_log, roots=[str(folder)])])
    host.wait_state("feat", "connected", timeout=30)
    assert text_of(host.result("tool.call", server="feat", tool="list_roots")) == folder.as_uri()
    host.close()

    bare = spawn_host([feature_server(era, feature_log)])
    bare.wait_state("feat", "connected", timeout=30)
    refused = bare.request("tool.call", server="feat", tool="list_roots")
    assert refused["error"]["code"] == "server_error"
    assert "did not declare the roots capability" in refused["error"]["message"], "none advertised"


# --- list changes, tools switched off ------------------------------------------------------------------------


def test_list_changes_of_each_kind_reach_the_extension(host: HostProcess) -> None:
    before = host.server("feat")["tools"]
    drain(host)
    host.result("tool.call", server="feat", tool="grow", arguments={"kind": "tool", "name": "fresh_tool"})
    host.wait_for(lambda e: e["type"] == "server.list_changed" and e["list"] == "tools", timeout=10)
    assert "fresh_tool" in [t["name"] for t in host.result("tools.list", server="feat")["tools"]]
    assert host.server("feat")["tools"] == before + 1

    host.result("tool.call", server="feat", tool="grow", arguments={"kind": "resource", "name": "fresh"})
    host.wait_for(lambda e: e["type"] == "server.list_changed" and e["list"] == "resources", timeout=10)
    assert "feature://added/fresh" in [
        r["uri"] for r in host.result("resources.list", server="feat")["resources"]
    ]

    host.result("tool.call", server="feat", tool="grow", arguments={"kind": "prompt", "name": "fresh_prompt"})
    host.wait_for(lambda e: e["type"] == "server.list_changed" and e["list"] == "prompts", timeout=10)
    assert "fresh_prompt" in [p["name"] for p in host.result("prompts.list", server="feat")["prompts"]]


def test_tools_switched_off_are_hidden_and_refused(host: HostProcess) -> None:
    before = host.server("feat")["tools"]
    drain(host)
    updated = host.result("server.update", server="feat", changes={"disabled_tools": ["slow", "bump"]})
    assert updated["reidentified"] is False and updated["state"] == "connected", "no new session for this"
    host.wait_for(lambda e: e["type"] == "server.list_changed" and e["list"] == "tools", timeout=10)
    listed = host.result("tools.list", server="feat")
    assert {"slow", "bump"}.isdisjoint(t["name"] for t in listed["tools"]) and listed["disabled"] == [
        "slow",
        "bump",
    ]
    everything = host.result("tools.list", server="feat", include_disabled=True)
    assert {"slow", "bump"} <= {t["name"] for t in everything["tools"]}
    assert host.server("feat")["tools"] == before - 2
    refused = host.request("tool.call", server="feat", tool="bump")
    assert refused["error"]["code"] == "tool_disabled" and "switched off" in refused["error"]["message"]


def test_the_bridge_names_itself(host: HostProcess) -> None:
    from host import __version__

    assert (
        text_of(host.result("tool.call", server="feat", tool="client")) == f"notion-mcp-bridge {__version__}"
    )


def test_requests_for_what_a_server_does_not_offer_are_refused(spawn_host) -> None:
    command = [sys.executable, "-m", "tests.support.tools_only_server"]
    host = spawn_host(
        [{"id": "toy", "name": "Toy", "kind": "stdio", "command": command, "env": {"PYTHONPATH": str(ROOT)}}]
    )
    entry = host.wait_state("toy", "connected", timeout=30)
    assert entry["capabilities"] == [] or entry["capabilities"] == ["logging"]
    for verb, fields in (
        ("resources.list", {}),
        ("resources.read", {"uri": "x://y"}),
        ("prompts.list", {}),
        (
            "completion.complete",
            {"ref": {"type": "ref/prompt", "name": "p"}, "argument": {"name": "a", "value": ""}},
        ),
    ):
        reply = host.request(verb, server="toy", **fields)
        assert reply["error"]["code"] == "not_offered", (verb, reply)
        assert reply["error"]["message"].startswith("Toy does not offer")


def test_the_chats_model_sees_new_tools_and_not_the_ones_switched_off(host: HostProcess) -> None:
    with ScriptedLLM() as llm:
        host.result("llm.configure", base_url=llm.base_url, model="test-model")
        llm.plan = [{"text": "first"}, {"text": "second"}]
        host.result("tool.call", server="feat", tool="grow", arguments={"kind": "tool", "name": "brand_new"})
        host.wait_for(lambda e: e["type"] == "server.list_changed" and e["list"] == "tools", timeout=10)
        host.result("chat.send", timeout=60, text="hello")
        offered = {t["function"]["name"] for t in llm.requests[0]["tools"]}
        assert "feat__brand_new" in offered and "feat__slow" in offered

        host.result("server.update", server="feat", changes={"disabled_tools": ["slow"]})
        host.result("chat.send", timeout=60, text="again")
        offered = {t["function"]["name"] for t in llm.requests[1]["tools"]}
        assert "feat__slow" not in offered and "feat__brand_new" in offered
