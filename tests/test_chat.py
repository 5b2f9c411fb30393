"""The chat agent through the real host, against a scripted OpenAI-compatible server and real MCP servers."""

from __future__ import annotations

import json
import re
import sys
import time

import pytest

from dev_notion.testing import DevNotionProcess
from devkit.host_process import HostProcess, write_config
from tests.support.processes import ROOT
from tests.support.scripted_llm import ScriptedLLM


@pytest.fixture
def llm():
    with ScriptedLLM() as server:
        yield server


@pytest.fixture
def notion():
    with DevNotionProcess(auth=False) as server:
        yield server


def toy(server_id: str) -> dict:
    # Marked trusted: these tests are about routing and turns, so the toy's read-only echo runs unasked.
    return {"id": server_id, "name": server_id.title(), "kind": "stdio", "cwd": str(ROOT), "trusted": True,
            "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"]}  # fmt: skip


def start(home, servers, llm, **kwargs) -> HostProcess:
    write_config(home, servers)
    host = HostProcess(home, **kwargs)
    host.result("llm.configure", base_url=llm.base_url, model="scripted", api_key="sk-test-key")
    for server in servers:
        host.wait_state(server["id"], "connected", timeout=30)
    return host


def events(host: HostProcess, kind: str) -> list[dict]:
    return [f for f in host.frames if f.get("type") == kind]


def test_the_multi_server_question_uses_sqlite_and_notion(host_home, llm, notion):
    servers = [
        {"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite", "db_path": str(host_home / "data" / "sample.db")},
        # The person marked this server trusted, so its read-only hints skip approval.
        {"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "trusted": True},
    ]  # fmt: skip
    host = start(host_home, servers, llm)
    llm.plan = [
        {"tool_calls": [
            {"name": "sqlite__read_query", "arguments": {"query": "SELECT COUNT(*) AS n FROM users"}},
            {"name": "notion__notion-search", "arguments": {"query": "Customers"}},
        ]},
        {"pieces": ["There are 120 users ", "in SQLite; the Customers database tracks them."]},
    ]  # fmt: skip
    reply = host.result(
        "chat.send", text="How many users are in SQLite, and which Notion databases track them?", timeout=60
    )
    assert reply["text"] == "There are 120 users in SQLite; the Customers database tracks them."
    done = [e for e in events(host, "chat.tool") if e["status"] == "done"]
    assert {(e["server"], e["tool"]) for e in done} == {("sqlite", "read_query"), ("notion", "notion-search")}
    fed_back = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert any('"n": 120' in m["content"] or "120" in m["content"] for m in fed_back)
    assert any("Customers" in m["content"] for m in fed_back)
    assert "".join(e["text"] for e in events(host, "chat.delta")) == reply["text"]
    names = {t["function"]["name"] for t in llm.requests[0]["tools"]}
    assert {"sqlite__read_query", "notion__notion-search", "notion__notion-create-pages"} <= names


@pytest.mark.parametrize("approve", [True, False])
def test_a_write_tool_waits_for_the_person(host_home, llm, notion, approve):
    host = start(
        host_home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}], llm
    )
    page = notion.admin("pages", title="Engineering Handbook")["pages"][0]["id"]
    llm.plan = [
        {"tool_calls": [{"name": "notion__notion-create-comment", "arguments": {"page_id": page, "rich_text": [{"text": {"content": "Hi"}}]}}]},
        {"text": "Done."},
    ]  # fmt: skip
    turn = host.start_request("chat.send", text="Comment on the handbook")
    waiting = host.wait_for(lambda e: e.get("type") == "chat.tool" and e["status"] == "awaiting_approval")
    assert waiting["arguments"]["page_id"] == page and waiting["tool"] == "notion-create-comment"
    assert notion.admin("stats")["calls"].get("notion-create-comment", 0) == 0, (
        "nothing runs before the person says so"
    )
    host.result(
        "chat.approve",
        conversation_id=waiting["conversation_id"],
        call_id=waiting["call_id"],
        approve=approve,
    )
    assert host.reply(turn, timeout=30)["ok"]
    ran = notion.admin("stats")["calls"].get("notion-create-comment", 0)
    tool_message = next(m for m in llm.requests[1]["messages"] if m["role"] == "tool")
    if approve:
        assert ran == 1 and '"discussion_id"' in tool_message["content"], "the model read Notion's answer"
    else:
        assert ran == 0 and "denied" in tool_message["content"]


def test_tool_names_that_collide_across_servers_route_to_the_right_one(host_home, llm):
    host = start(host_home, [toy("toy"), toy("other")], llm)
    llm.plan = [
        {"tool_calls": [{"name": "other__echo", "arguments": {"text": "which one?"}}]},
        {"text": "ok"},
    ]
    host.result("chat.send", text="echo on the other one", timeout=60)
    done = next(e for e in events(host, "chat.tool") if e["status"] == "done")
    assert done["server"] == "other" and done["result"]["content"][0]["text"] == "which one?"


def test_cancel_mid_stream_stops_the_model_and_leaves_a_consistent_history(host_home, llm):
    """Stop ends the turn there and then: the model's stream is abandoned mid-answer, nothing streams after
    the stopped answer, and the history stays valid. (How fast: bench/chat_first_token.py.)"""
    host = start(host_home, [toy("toy")], llm)
    llm.plan = [{"pieces": [f"word{i} " for i in range(300)], "delay": 0.1}]
    turn = host.start_request("chat.send", text="talk for a while")
    host.wait_for(lambda e: e.get("type") == "chat.delta")
    conversation = next(e for e in host.frames if e.get("type") == "chat.delta")["conversation_id"]
    assert host.result("chat.cancel", conversation_id=conversation) == {"cancelled": True}
    reply = host.reply(turn, timeout=30)
    assert reply["result"] == {"conversation_id": conversation, "text": "(stopped)", "stopped": True}
    deadline = time.monotonic() + 20
    while llm.streams_abandoned < 1:
        assert time.monotonic() < deadline, "the model's stream was never closed"
        time.sleep(0.05)
    assert llm.streams_finished == 0, "the model's answer was not read to its end"
    kinds = [f["type"] for f in host.frames if f.get("type", "").startswith("chat.")]
    done_at = kinds.index("chat.done")
    assert "chat.delta" not in kinds[done_at:], "nothing streams after the stopped answer"
    assert 0 < kinds.count("chat.delta") < 300
    messages = host.result("chat.history", conversation_id=conversation)["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] and messages[-1]["content"] == "(stopped)"
    again = host.request("chat.cancel", conversation_id=conversation)
    assert again["error"]["code"] == "unknown_conversation", "no turn runs any more"


def test_history_survives_a_host_restart(host_home, llm):
    host = start(host_home, [toy("toy")], llm)
    llm.plan = [{"text": "Remembered."}]
    conversation = host.result("chat.send", text="remember this", timeout=30)["conversation_id"]
    host.close()
    again = start(host_home, [toy("toy")], llm)
    listed = again.result("chat.list")["conversations"]
    assert [c["id"] for c in listed] == [conversation]
    messages = again.result("chat.history", conversation_id=conversation)["messages"]
    assert [m["content"] for m in messages] == ["remember this", "Remembered."]
    assert again.result("chat.delete", conversation_id=conversation) == {"deleted": True}
    assert again.result("chat.list")["conversations"] == []


@pytest.mark.parametrize(
    ("step", "words"),
    [
        ({"status": 401}, "refused the API key (HTTP 401)"),
        ({"status": 429}, "rate-limiting (HTTP 429)"),
        ({"sleep": 3, "text": "too late"}, "did not answer in time"),
    ],
)
def test_model_errors_are_shown_in_words(host_home, llm, step, words):
    host = start(host_home, [toy("toy")], llm, env={"NOTION_BRIDGE_LLM_TIMEOUT_S": "1"})
    llm.plan = [step]
    reply = host.request("chat.send", text="hello", timeout=30)
    assert (
        reply["ok"] is False
        and reply["error"]["code"] == "chat_failed"
        and words in reply["error"]["message"]
    )
    assert any(e["type"] == "chat.error" and words in e["message"] for e in host.frames)


def test_always_allow_is_remembered_per_server_and_revocable(host_home, llm, notion):
    host = start(
        host_home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}], llm
    )
    page = notion.admin("pages", title="Engineering Handbook")["pages"][0]["id"]
    comment = {
        "name": "notion__notion-create-comment",
        "arguments": {"page_id": page, "rich_text": [{"text": {"content": "Hi"}}]},
    }
    llm.plan = [
        {"tool_calls": [comment]},
        {"text": "Done."},
        {"tool_calls": [comment]},
        {"text": "Done again."},
    ]
    turn = host.start_request("chat.send", text="Comment")
    waiting = host.wait_for(lambda e: e.get("type") == "chat.tool" and e["status"] == "awaiting_approval")
    host.result(
        "chat.approve",
        conversation_id=waiting["conversation_id"],
        call_id=waiting["call_id"],
        approve=True,
        always=True,
    )
    host.reply(turn, timeout=30)
    assert host.result("config.get")["servers"][0]["always_allow"] == ["notion-create-comment"]
    asked_before = sum(1 for f in host.frames if f.get("status") == "awaiting_approval")
    host.result("chat.send", text="Comment again", timeout=30)
    assert sum(1 for f in host.frames if f.get("status") == "awaiting_approval") == asked_before, (
        "not asked again"
    )
    assert notion.admin("stats")["calls"]["notion-create-comment"] == 2
    host.result("server.update", server="notion", changes={"always_allow": []})
    assert host.result("config.get")["servers"][0]["always_allow"] == []


def awaiting(host: HostProcess, conversation_id: str) -> dict:
    return host.wait_for(
        lambda e: (
            e.get("type") == "chat.tool"
            and e["conversation_id"] == conversation_id
            and e["status"] == "awaiting_approval"
        )
    )


def test_a_call_id_two_conversations_share_approves_only_the_one_named(host_home, llm, notion):
    """Models number their calls from call_1 in every conversation; a yes in one must not run the other's."""
    host = start(
        host_home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}], llm
    )
    pages = {
        word: notion.admin("pages", title=title)["pages"][0]
        for word, title in (("alpha", "Q3 Planning Notes"), ("bravo", "On-call Runbook"))
    }

    def rewrite(word: str) -> list[dict]:
        arguments = {
            "page_id": pages[word]["id"],
            "command": "replace_content",
            "new_str": f"rewritten by {word}",
        }
        return [
            {"tool_calls": [{"id": "call_1", "name": "notion__notion-update-page", "arguments": arguments}]},
            {"text": f"{word} done."},
        ]  # fmt: skip

    llm.routes = {word: rewrite(word) for word in pages}
    first = host.result("chat.new", title="alpha")["conversation_id"]
    second = host.result("chat.new")["conversation_id"]
    assert first != second
    turn_a = host.start_request("chat.send", conversation_id=first, text="alpha: rewrite the planning notes")
    waiting_a = awaiting(host, first)
    turn_b = host.start_request("chat.send", conversation_id=second, text="bravo: rewrite the runbook")
    waiting_b = awaiting(host, second)
    assert waiting_a["call_id"] == waiting_b["call_id"] == "call_1"

    wrong = host.request("chat.approve", conversation_id="not-a-conversation", call_id="call_1", approve=True)
    assert wrong["ok"] is False and wrong["error"]["code"] == "unknown_call"
    assert "call_1" in wrong["error"]["message"] and "not-a-conversation" in wrong["error"]["message"]

    host.result("chat.approve", conversation_id=first, call_id="call_1", approve=True)
    assert host.reply(turn_a, timeout=30)["result"]["text"] == "alpha done."
    assert notion.admin("pages", title="Q3 Planning Notes")["pages"][0]["content"] == "rewritten by alpha"
    assert notion.admin("pages", title="On-call Runbook")["pages"][0]["content"] == pages["bravo"]["content"], (
        "the other conversation's update did not run"
    )  # fmt: skip
    assert notion.admin("stats")["calls"].get("notion-update-page", 0) == 1
    statuses = [e["status"] for e in events(host, "chat.tool") if e["conversation_id"] == second]
    assert statuses == ["awaiting_approval"], "the other conversation's call still waits"
    assert not [f for f in host.frames if f.get("type") == "reply" and f["id"] == turn_b], "so does its turn"

    again = host.request("chat.approve", conversation_id=first, call_id="call_1", approve=True)
    assert again["ok"] is False and again["error"]["code"] == "unknown_call", (
        "an answered call takes no second yes"
    )

    host.result("chat.approve", conversation_id=second, call_id="call_1", approve=False)
    assert host.reply(turn_b, timeout=30)["result"]["text"] == "bravo done."
    assert notion.admin("pages", title="On-call Runbook")["pages"][0]["content"] == pages["bravo"]["content"]
    assert notion.admin("stats")["calls"].get("notion-update-page", 0) == 1
    titles = {c["id"]: c["title"] for c in host.result("chat.list")["conversations"]}
    assert titles == {first: "alpha", second: "bravo: rewrite the runbook"}


@pytest.mark.parametrize("text", [" ", "\n\n", " \t \r\n ", "\u3000"])
def test_a_message_of_only_whitespace_is_refused_in_words(host_home, llm, text):
    host = start(host_home, [toy("toy")], llm)
    reply = host.request("chat.send", text=text)
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_arguments", reply
    assert "empty" in reply["error"]["message"] and "text" in reply["error"]["message"]
    assert llm.requests == [] and host.result("chat.list")["conversations"] == []


def test_a_second_send_while_a_turn_runs_is_refused(host_home, llm, notion):
    host = start(
        host_home, [{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}], llm
    )
    page = notion.admin("pages", title="Engineering Handbook")["pages"][0]["id"]
    llm.plan = [
        {"tool_calls": [{"name": "notion__notion-create-comment", "arguments": {"page_id": page, "rich_text": [{"text": {"content": "Hi"}}]}}]},
        {"text": "Done."},
        {"text": "And the next one."},
    ]  # fmt: skip
    conversation = host.result("chat.new")["conversation_id"]
    turn = host.start_request("chat.send", conversation_id=conversation, text="Comment on the handbook")
    waiting = awaiting(host, conversation)
    second = host.request("chat.send", conversation_id=conversation, text="and another thing")
    assert second["ok"] is False and second["error"]["code"] == "turn_in_progress"
    assert (
        second["error"]["message"]
        == "a turn is already running in this conversation; wait for it or press Stop"
    )
    assert len(llm.requests) == 1, "the refused message never reached the model"
    host.result("chat.approve", conversation_id=conversation, call_id=waiting["call_id"], approve=True)
    assert host.reply(turn, timeout=30)["result"]["text"] == "Done."
    assert host.result("chat.send", conversation_id=conversation, text="next", timeout=30)["text"] == (
        "And the next one."
    )
    roles = [m["role"] for m in host.result("chat.history", conversation_id=conversation)["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant", "user", "assistant"]


# --- limits the agent keeps: rounds, names, result size, the key ------------------------------------------


def test_the_agent_stops_after_eight_rounds_of_tool_calls_and_says_so(host_home, llm):
    host = start(host_home, [toy("toy")], llm)
    echo = {"name": "toy__echo", "arguments": {"text": "again"}}
    llm.plan = [{"tool_calls": [echo]} for _ in range(11)]
    reply = host.result("chat.send", text="loop forever", timeout=120)
    assert reply["text"] == "I stopped after 8 rounds of tool calls without a final answer."
    assert len(llm.requests) == 8, "the model was asked eight times, not a ninth"
    assert sum(e["status"] == "done" for e in events(host, "chat.tool")) == 8
    messages = host.result("chat.history", conversation_id=reply["conversation_id"])["messages"]
    assert [m["role"] for m in messages].count("tool") == 8 and messages[-1]["content"] == reply["text"]


def test_a_tool_result_reaches_the_model_cut_at_8000_characters_and_the_panel_whole(host_home, llm):
    host = start(host_home, [toy("toy")], llm)
    size = 10 * 1024  # big(mib=0.009765625) is 10,240 characters of "x"
    llm.plan = [{"tool_calls": [{"name": "toy__big", "arguments": {"mib": size / 2**20}}]}, {"text": "ok"}]
    # The toy's big tool is not read-only: approve it.
    turn = host.start_request("chat.send", text="fetch something big")
    waiting = host.wait_for(lambda e: e.get("type") == "chat.tool" and e["status"] == "awaiting_approval")
    host.result(
        "chat.approve", conversation_id=waiting["conversation_id"], call_id=waiting["call_id"], approve=True
    )
    assert host.reply(turn, timeout=60)["ok"]
    (fed_back,) = [m for m in llm.requests[1]["messages"] if m["role"] == "tool"]
    assert fed_back["content"] == "x" * 8000 + f"\n[truncated: {size - 8000} more characters not shown]"
    done = next(e for e in events(host, "chat.tool") if e["status"] == "done")
    assert done["result"]["content"][0]["text"] == "x" * size, "the panel gets the whole result"


def test_a_tool_name_too_long_for_the_model_is_shortened_with_a_hash_and_still_routes(host_home, llm):
    import hashlib

    server_id, tool = "a-toy-server-with-a-long-identifier", "summarise_every_page_in_the_workspace_at_once"
    host = start(host_home, [toy(server_id)], llm)
    host.result("tool.call", server=server_id, tool="grow", arguments={"name": tool})
    host.wait_for(
        lambda e: e["type"] == "status" and tool in str(host.result("tools.list", server=server_id))
    )
    full = f"{server_id}__{tool}"
    assert len(full) > 64
    exposed = full[:55] + "_" + hashlib.sha256(f"{server_id}\0{tool}".encode()).hexdigest()[:8]
    llm.plan = [{"tool_calls": [{"name": exposed, "arguments": {}}]}, {"text": "ok"}]
    turn = host.start_request("chat.send", text="summarise everything")
    waiting = host.wait_for(lambda e: e.get("type") == "chat.tool" and e["status"] == "awaiting_approval")
    assert (waiting["server"], waiting["tool"]) == (server_id, tool), "the hashed name routes to its tool"
    host.result(
        "chat.approve", conversation_id=waiting["conversation_id"], call_id=waiting["call_id"], approve=True
    )
    assert host.reply(turn, timeout=60)["ok"]
    names = [t["function"]["name"] for t in llm.requests[0]["tools"]]
    assert exposed in names and all(re.fullmatch(r"[a-zA-Z0-9_-]{1,64}", n) for n in names)
    done = next(e for e in events(host, "chat.tool") if e["status"] == "done")
    assert done["result"]["content"][0]["text"] == tool


def test_without_a_key_for_a_hosted_model_a_turn_is_no_model(host_home):
    """The default endpoint (OpenRouter) needs a key; with none the turn fails at once, in words."""
    write_config(host_home, [])
    host = HostProcess(host_home)
    reply = host.request("chat.send", text="hello", timeout=30)
    assert reply["ok"] is False
    assert reply["error"] == {
        "code": "no_model",
        "message": "no API key for the chat model: add one in the options page",
    }


def test_the_model_key_goes_to_its_endpoint_and_nowhere_else(host_home, llm):
    """Not in the configuration, the host's logs (at debug level), any frame, stderr or any file in the host's
    home: only in the keychain, and in the Authorization header of requests to the model endpoint."""
    import secrets

    key = "sk-bridge-" + secrets.token_hex(16)
    write_config(host_home, [toy("toy")])
    host = HostProcess(host_home, env={"NOTION_BRIDGE_LOG_LEVEL": "DEBUG"})
    configured = host.result("llm.configure", base_url=llm.base_url, model="scripted", api_key=key)
    assert configured["has_api_key"] is True
    llm.plan = [{"text": "hi"}]
    assert host.result("chat.send", text="hello", timeout=60)["text"] == "hi"
    assert llm.authorizations == [f"Bearer {key}"], "the key was stored and used"
    stored = host.result("config.get")["llm"]
    assert {k: stored[k] for k in ("base_url", "model", "has_api_key")} == {
        "base_url": llm.base_url,
        "model": "scripted",
        "has_api_key": True,
    }
    assert key not in json.dumps(stored)
    host.close()
    places = {
        "frames": json.dumps(host.frames),
        "stderr": "\n".join(host.stderr_lines),
        **{
            str(path.relative_to(host_home)): path.read_bytes().decode("latin-1")
            for path in host_home.rglob("*")
            if path.is_file()
        },
    }
    assert any(name.startswith("logs") for name in places), "the host wrote its log where it was searched"
    assert [name for name, text in places.items() if key in text or key[10:] in text] == []
