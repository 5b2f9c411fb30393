"""Server supervision through the real host: sessions come up, calls run concurrently, failures are named,
dead servers are noticed and reconnected, and no call is ever run twice behind the person's back."""

from __future__ import annotations

import concurrent.futures
import json
import sys
import time

import pytest

from tests.support.processes import ROOT, ToyServer

STDIO_TOY = {
    "id": "toy",
    "name": "Toy",
    "kind": "stdio",
    "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"],
    "cwd": str(ROOT),
}


def remote(url: str, **fields) -> dict:
    return {"id": "toy", "name": "Toy", "kind": "remote", "url": url, **fields}


@pytest.fixture
def toy_host(spawn_host, tmp_path):
    server = {**STDIO_TOY, "env": {"TOY_CALL_LOG": str(tmp_path / "calls.log")}}
    host = spawn_host(servers=[server])
    host.wait_state("toy", "connected")
    return host


def test_hello_status_enable_list_and_call_over_stdio(spawn_host):
    host = spawn_host(servers=[{**STDIO_TOY, "enabled": False}])
    assert host.wait_state("toy", "disabled")["tools"] == 0
    entry = host.result("server.enable", server="toy", enabled=True)
    assert entry["state"] in ("connecting", "connected")
    connected = host.wait_state("toy", "connected")
    assert connected["transport"] == "stdio" and connected["tools"] >= 5
    assert connected["server_info"] == {"name": "toy", "version": "1.0"}
    tools = host.result("tools.list", server="toy")["tools"]
    echo = next(t for t in tools if t["name"] == "echo")
    assert echo["inputSchema"]["required"] == ["text"]
    result = host.result("tool.call", server="toy", tool="echo", arguments={"text": "héllo"})
    assert result["content"] == [{"type": "text", "text": "héllo"}] and result["isError"] is False
    assert host.states_seen("toy") == ["disabled", "connecting", "connected"]


def test_enabling_is_persisted_in_the_config(toy_host, host_home):
    toy_host.result("server.enable", server="toy", enabled=False)
    assert toy_host.wait_state("toy", "disabled")
    stored = json.loads((host_home / "config" / "config.json").read_text())
    assert stored["servers"][0]["enabled"] is False
    reply = toy_host.request("tool.call", server="toy", tool="echo", arguments={"text": "x"})
    assert reply["error"]["code"] == "server_disabled"


def test_a_wrong_tool_argument_comes_back_as_a_tool_error_naming_the_field(toy_host):
    result = toy_host.result("tool.call", server="toy", tool="echo", arguments={"txt": "x"})
    assert result["isError"] is True and "text" in result["content"][0]["text"]


def test_an_unknown_tool_is_named(toy_host):
    reply = toy_host.request("tool.call", server="toy", tool="nope")
    assert reply["error"]["code"] == "unknown_tool" and "nope" in reply["error"]["message"]


def test_many_calls_run_at_once(toy_host):
    started = time.monotonic()
    ids = [
        toy_host.start_request("tool.call", server="toy", tool="sleep", arguments={"seconds": 1})
        for _ in range(16)
    ]
    replies = [toy_host.reply(i) for i in ids]
    assert all(r["ok"] and r["result"]["content"][0]["text"].startswith("slept") for r in replies)
    assert time.monotonic() - started < 4, "calls were serialised"


def test_a_call_past_its_timeout_fails_with_timeout_and_others_continue(toy_host):
    slow = toy_host.start_request(
        "tool.call", server="toy", tool="sleep", arguments={"seconds": 10}, timeout_s=0.5
    )
    reply = toy_host.reply(slow, timeout=5)
    assert reply["error"]["code"] == "timeout" and "0.5 s" in reply["error"]["message"]
    assert toy_host.result("tool.call", server="toy", tool="echo", arguments={"text": "still here"})


def test_a_call_can_be_cancelled(toy_host):
    slow = toy_host.start_request("tool.call", server="toy", tool="sleep", arguments={"seconds": 10})
    time.sleep(0.3)
    assert toy_host.result("tool.cancel", call_id=slow) == {"cancelled": True}
    reply = toy_host.reply(slow, timeout=3)
    assert reply["error"]["code"] == "cancelled"
    assert toy_host.server("toy")["state"] == "connected"


def test_a_ten_mebibyte_result_arrives_chunked_and_intact(toy_host):
    result = toy_host.result("tool.call", server="toy", tool="big", arguments={"mib": 10}, timeout=60)
    assert result["content"][0]["text"] == "x" * (10 * 1024 * 1024)
    chunks = [f for f in toy_host.frames if f["type"] == "chunk"]
    assert len(chunks) >= 10


def test_a_crashed_stdio_child_is_restarted_and_calls_in_flight_get_errors(toy_host, tmp_path):
    in_flight = toy_host.start_request("tool.call", server="toy", tool="sleep", arguments={"seconds": 30})
    time.sleep(0.2)
    toy_host.result("tool.call", server="toy", tool="exit_soon", arguments={"delay": 0.2})
    reply = toy_host.reply(in_flight, timeout=10)
    assert reply["error"]["code"] == "session_lost" and "not retried" in reply["error"]["message"]
    errored = toy_host.wait_state("toy", "error")
    assert errored["error"] and errored["retry_at"] > time.time() - 1
    toy_host.wait_state("toy", "connected")
    assert toy_host.states_seen("toy")[-3:] == ["error", "connecting", "connected"]
    assert (
        toy_host.result("tool.call", server="toy", tool="echo", arguments={"text": "back"})["content"][0][
            "text"
        ]
        == "back"
    )


def test_tool_list_changes_are_picked_up(toy_host):
    before = toy_host.server("toy")["tools"]
    toy_host.result("tool.call", server="toy", tool="grow", arguments={"name": "fresh"})
    toy_host.wait_for(lambda e: e["type"] == "status" and e["servers"][0]["tools"] == before + 1)
    names = [t["name"] for t in toy_host.result("tools.list", server="toy")["tools"]]
    assert "fresh" in names


def test_a_stdio_command_that_does_not_exist_is_an_error_in_words(spawn_host):
    host = spawn_host(servers=[{**STDIO_TOY, "command": ["/nonexistent/mcp-server"]}])
    errored = host.wait_state("toy", "error")
    assert "nonexistent" in errored["error"] or "not found" in errored["error"]


def test_a_child_that_dies_at_start_shows_its_last_words(spawn_host):
    command = [sys.executable, "-c", "import sys; sys.exit('database is locked by another process')"]
    host = spawn_host(servers=[{**STDIO_TOY, "command": command}])
    errored = host.wait_state("toy", "error")
    assert "database is locked by another process" in errored["error"]


def test_eof_stops_children_and_exits_within_two_seconds(toy_host):
    assert toy_host.close() < 2.0


@pytest.mark.parametrize("mode", ["http", "sse"])
def test_remote_server_killed_and_restarted(spawn_host, tmp_path, mode):
    server = ToyServer(mode, call_log=tmp_path / "calls.log").start()
    try:
        host = spawn_host(servers=[remote(server.url)])
        connected = host.wait_state("toy", "connected")
        assert connected["transport"] == mode
        in_flight = host.start_request("tool.call", server="toy", tool="sleep", arguments={"seconds": 30})
        host.result("tool.call", server="toy", tool="count", arguments={"tag": "before"})
        time.sleep(0.3)
        server.kill()
        reply = host.reply(in_flight, timeout=15)
        assert reply["ok"] is False and reply["error"]["code"] in ("session_lost", "server_error")
        errored = host.wait_state("toy", "error", timeout=15)
        assert errored["error"]
        server.start()
        host.wait_state("toy", "connected", timeout=40)
        assert host.states_seen("toy")[-3:] == ["error", "connecting", "connected"]
        host.result("tool.call", server="toy", tool="count", arguments={"tag": "after"})
        assert (tmp_path / "calls.log").read_text().split() == ["before", "after"], "a call ran twice"
    finally:
        server.kill()


def test_auto_falls_back_to_sse_and_remembers_it(spawn_host, host_home):
    server = ToyServer("sse").start()
    try:
        host = spawn_host(servers=[remote(server.url)])
        assert host.wait_state("toy", "connected")["transport"] == "sse"
        stored = json.loads((host_home / "config" / "config.json").read_text())
        assert stored["servers"][0]["detected_transport"] == "sse"
    finally:
        server.kill()


def test_an_unreachable_server_backs_off_with_growing_delays(spawn_host):
    from tests.support.processes import free_port

    host = spawn_host(servers=[remote(f"http://127.0.0.1:{free_port()}/mcp", transport="http")])
    delays = []
    for _ in range(4):
        host.wait_state("toy", "connecting")
        errored = host.wait_state("toy", "error")
        assert "cannot connect" in errored["error"]
        delays.append(errored["retry_at"] - time.time())
    assert delays[-1] > delays[0]


def test_servers_can_be_added_updated_and_removed(toy_host, host_home):
    added = toy_host.result(
        "server.add",
        server={"name": "Second Toy", "kind": "stdio", "command": STDIO_TOY["command"], "cwd": str(ROOT)},
    )
    assert added["id"] == "second-toy"
    toy_host.wait_state("second-toy", "connected")
    renamed = toy_host.result("server.update", server="second-toy", changes={"name": "Renamed"})
    assert renamed["name"] == "Renamed" and renamed["state"] == "connected"
    dup = toy_host.request("server.add", server={"id": "toy", "name": "x", "kind": "stdio", "command": ["x"]})
    assert dup["error"]["code"] == "server_exists"
    assert toy_host.result("server.remove", server="second-toy") == {
        "removed": "second-toy",
        "revoked": False,
    }
    stored = json.loads((host_home / "config" / "config.json").read_text())
    assert [s["id"] for s in stored["servers"]] == ["toy"]
    assert [s["id"] for s in toy_host.result("status.get")["servers"]] == ["toy"]


def test_status_get_matches_the_last_status_event(toy_host):
    assert toy_host.result("status.get")["servers"] == toy_host.status["servers"]


def test_requests_keep_flowing_while_a_big_call_runs(toy_host):
    with concurrent.futures.ThreadPoolExecutor() as pool:
        big = pool.submit(
            toy_host.result, "tool.call", server="toy", tool="big", arguments={"mib": 5}, timeout=60
        )
        assert toy_host.result("ping")["pong"]
        assert len(big.result()["content"][0]["text"]) == 5 * 1024 * 1024


def test_the_notion_compatible_server_killed_and_restarted(spawn_host):
    from dev_notion.testing import DevNotionProcess

    notion = DevNotionProcess(auth=False, large_page_mib=10).start()
    try:
        host = spawn_host(servers=[remote(notion.mcp_url)])
        assert host.wait_state("toy", "connected")["tools"] == 14
        notion.admin("slow", ms=20_000)
        in_flight = host.start_request("tool.call", server="toy", tool="notion-get-users")
        time.sleep(0.3)
        notion.kill()
        reply = host.reply(in_flight, timeout=15)
        assert reply["ok"] is False and reply["error"]["code"] in ("session_lost", "server_error")
        host.wait_state("toy", "error", timeout=15)
        notion.start()
        host.wait_state("toy", "connected", timeout=40)
        assert host.states_seen("toy")[-3:] == ["error", "connecting", "connected"]
        users = host.result("tool.call", server="toy", tool="notion-get-users")
        assert "Ada Lovelace" in users["content"][0]["text"]
        # The restarted server has a fresh 10 MiB page; find it and fetch it through the host.
        large = next(p for p in notion.admin("pages", title="Large page")["pages"])
        page = host.result(
            "tool.call", server="toy", tool="notion-fetch", arguments={"id": large["id"]}, timeout=60
        )
        assert len(page["content"][0]["text"]) > 10 * 1024 * 1024
        assert sum(f["type"] == "chunk" for f in host.frames) >= 10
    finally:
        notion.kill()


@pytest.mark.parametrize(
    ("action", "content", "expected"),
    [
        ("accept", {"name": "Ada"}, "hello Ada"),
        ("decline", None, "no name (decline)"),
        ("cancel", None, "no name (cancel)"),
    ],
)
def test_a_servers_question_reaches_the_person_and_their_answer_goes_back(
    toy_host, action, content, expected
):
    call = toy_host.start_request("tool.call", server="toy", tool="ask_name")
    question = toy_host.wait_for(lambda e: e["type"] == "elicitation.request")
    assert question["server"] == "toy" and question["message"] == "What is your name?"
    assert question["requested_schema"]["required"] == ["name"]
    fields = {"content": content} if content else {}
    toy_host.result("elicitation.respond", elicitation_id=question["elicitation_id"], action=action, **fields)
    assert toy_host.reply(call)["result"]["content"][0]["text"] == expected
    closed = toy_host.wait_for(lambda e: e["type"] == "elicitation.closed")
    assert closed["elicitation_id"] == question["elicitation_id"]


def test_a_question_nobody_answers_is_cancelled_never_answered_for_the_person(spawn_host, tmp_path):
    host = spawn_host(servers=[STDIO_TOY], env={"NOTION_BRIDGE_ELICITATION_TIMEOUT_S": "1"})
    host.wait_state("toy", "connected")
    reply = host.request("tool.call", server="toy", tool="ask_name")
    assert reply["result"]["content"][0]["text"] == "no name (cancel)"
    late = host.request(
        "elicitation.respond", elicitation_id="whatever", action="accept", content={"name": "x"}
    )
    assert late["error"]["code"] == "unknown_elicitation"
