"""A public MCP server no one here wrote, ``@modelcontextprotocol/server-everything`` from npm, through the host
over stdio, streamable HTTP and SSE: its resources (static, templated text and binary, subscribed), prompts with
arguments and completion, progress, logging, cancellation and sampling all work as they do with our own servers.
It speaks the handshake era (2025), as most servers in the wild do.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.host_process import HostProcess
from tests.support.everything import EverythingServer, stdio_command
from tests.support.processes import ROOT
from tests.support.scripted_llm import ScriptedLLM

TRANSPORTS = ["stdio", "http", "sse"]


@pytest.fixture(params=TRANSPORTS)
def everything(request: pytest.FixtureRequest, spawn_host, tmp_path: Path) -> Iterator[HostProcess]:
    transport = str(request.param)
    if transport == "stdio":
        tap = tmp_path / "to-the-server.jsonl"
        command = [sys.executable, "-m", "tests.support.wire_tap", str(tap), *stdio_command()]
        host = spawn_host(
            [
                {
                    "id": "everything",
                    "name": "Everything",
                    "kind": "stdio",
                    "command": command,
                    "env": {"PYTHONPATH": str(ROOT)},
                }
            ]
        )
        host.wire_tap = tap  # type: ignore[attr-defined]
        yield host
        return
    with EverythingServer(transport) as server:
        yield spawn_host(
            [
                {
                    "id": "everything",
                    "name": "Everything",
                    "kind": "remote",
                    "url": server.url,
                    "transport": transport,
                }
            ]
        )


def connected(host: HostProcess) -> dict[str, Any]:
    entry = host.wait_state("everything", "connected", timeout=60)
    assert entry["server_info"]["name"].startswith("mcp-servers/everything") or entry["server_info"]["name"]
    return entry


def drain(host: HostProcess, kind: str) -> list[dict[str, Any]]:
    taken = []
    while not host.events.empty():
        event = host.events.get()
        if event["type"] == kind:
            taken.append(event)
    return taken


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block.get("text", "") for block in result["content"] if block["type"] == "text")


def test_resources_prompts_completion_and_progress(everything: HostProcess) -> None:
    host = everything
    entry = connected(host)
    assert {"resources", "subscribe", "prompts", "completions", "logging"} <= set(entry["capabilities"])

    resources = host.result("resources.list", server="everything")["resources"]
    documents = [r for r in resources if r["uri"].startswith("demo://resource/static/document/")]
    assert documents, [r["uri"] for r in resources]
    document = host.result("resources.read", server="everything", uri=documents[0]["uri"])["contents"][0]
    assert document["text"].strip()

    templates = {
        t["uriTemplate"] for t in host.result("resources.templates", server="everything")["resourceTemplates"]
    }
    assert {
        "demo://resource/dynamic/text/{resourceId}",
        "demo://resource/dynamic/blob/{resourceId}",
    } <= templates
    text = host.result("resources.read", server="everything", uri="demo://resource/dynamic/text/1")[
        "contents"
    ][0]
    assert "Resource 1" in text["text"] and text["mimeType"] == "text/plain"
    blob = host.result("resources.read", server="everything", uri="demo://resource/dynamic/blob/2")[
        "contents"
    ][0]
    assert "Resource 2" in base64.b64decode(blob["blob"]).decode()
    ids = host.result(
        "completion.complete",
        server="everything",
        ref={"type": "ref/resource", "uri": "demo://resource/dynamic/text/{resourceId}"},
        argument={"name": "resourceId", "value": "1"},
    )["completion"]["values"]
    assert ids and all(value.startswith("1") for value in ids)

    prompts = {p["name"]: p for p in host.result("prompts.list", server="everything")["prompts"]}
    assert {"simple-prompt", "args-prompt", "completable-prompt", "resource-prompt"} <= set(prompts)
    got = host.result("prompts.get", server="everything", name="args-prompt", arguments={"city": "Lyon"})
    assert "Lyon" in json.dumps(got["messages"])
    departments = host.result(
        "completion.complete",
        server="everything",
        ref={"type": "ref/prompt", "name": "completable-prompt"},
        argument={"name": "department", "value": "E"},
    )["completion"]["values"]
    assert departments == ["Engineering"]
    leads = host.result(
        "completion.complete",
        server="everything",
        ref={"type": "ref/prompt", "name": "completable-prompt"},
        argument={"name": "name", "value": ""},
        context={"department": "Engineering"},
    )["completion"]["values"]
    assert leads == ["Alice", "Bob", "Charlie"], "the other argument's value narrows the suggestions"

    drain(host, "tool.progress")
    call_id = host.start_request(
        "tool.call",
        server="everything",
        tool="trigger-long-running-operation",
        arguments={"duration": 2, "steps": 4},
    )
    reply = host.reply(call_id, timeout=30)
    assert reply["ok"] and "Steps: 4" in text_of(reply["result"])
    progress = drain(host, "tool.progress")
    assert [(p["call_id"], p["progress"], p["total"]) for p in progress] == [
        (call_id, float(i), 4.0) for i in range(1, 5)
    ]


def test_logging_and_subscriptions(everything: HostProcess) -> None:
    host = everything
    connected(host)
    host.result("server.log_level", server="everything", level="debug")
    drain(host, "server.log")
    assert "Started" in text_of(
        host.result("tool.call", server="everything", tool="toggle-simulated-logging")
    )
    logged = host.wait_for(lambda e: e["type"] == "server.log", timeout=15)
    assert logged["server"] == "everything" and "message" in str(logged["data"])
    assert host.result("server.logs", server="everything")["entries"], "kept in the ring"
    host.result("tool.call", server="everything", tool="toggle-simulated-logging")

    uri = "demo://resource/dynamic/text/1"
    host.result("resources.subscribe", server="everything", uri=uri)
    host.result("tool.call", server="everything", tool="toggle-subscriber-updates")
    updated = host.wait_for(lambda e: e["type"] == "resource.updated", timeout=20)
    assert updated == {"type": "resource.updated", "server": "everything", "uri": uri}
    host.result("tool.call", server="everything", tool="toggle-subscriber-updates")


def test_stop_and_sampling(everything: HostProcess) -> None:
    host = everything
    connected(host)
    call_id = host.start_request(
        "tool.call",
        server="everything",
        tool="trigger-long-running-operation",
        arguments={"duration": 30, "steps": 30},
    )
    host.wait_for(lambda e: e["type"] == "tool.progress" and e["call_id"] == call_id, timeout=10)
    assert host.result("tool.cancel", call_id=call_id) == {"cancelled": True}
    assert host.reply(call_id)["error"]["code"] == "cancelled"
    tap = getattr(host, "wire_tap", None)
    if tap is not None:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and "notifications/cancelled" not in tap.read_text():
            time.sleep(0.05)
        sent = [json.loads(line) for line in tap.read_text().splitlines() if line.strip()]
        cancels = [m for m in sent if m.get("method") == "notifications/cancelled"]
        calls = [
            m
            for m in sent
            if m.get("method") == "tools/call" and m["params"]["name"] == "trigger-long-running-operation"
        ]
        assert cancels and cancels[-1]["params"]["requestId"] == calls[-1]["id"], (
            "the server was told which call"
        )

    with ScriptedLLM() as llm:
        llm.plan = [{"text": "A short story."}]
        host.result("llm.configure", base_url=llm.base_url, model="scripted")
        call_id = host.start_request(
            "tool.call",
            server="everything",
            tool="trigger-sampling-request",
            arguments={"prompt": "Tell a story", "maxTokens": 50},
        )
        asked = host.wait_for(lambda e: e["type"] == "sampling.request", timeout=20)
        assert "Tell a story" in json.dumps(asked["messages"]) and asked["max_tokens"] == 50
        host.result("sampling.respond", sampling_id=asked["sampling_id"], action="approve")
        host.wait_for(lambda e: e["type"] == "sampling.draft", timeout=20)
        host.result(
            "sampling.respond", sampling_id=asked["sampling_id"], action="approve", text="An edited story."
        )
        result = host.reply(call_id, timeout=30)
        assert result["ok"] and "An edited story." in text_of(result["result"])
