"""Server supervision through the real host: sessions come up, calls run concurrently, failures are named,
dead servers are noticed and reconnected, and no call is ever run twice behind the person's back."""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.support.processes import ROOT, ToyServer, alive, children_of

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
    env = {"TOY_CALL_LOG": str(tmp_path / "calls.log"), "TOY_EVENT_LOG": str(tmp_path / "events.log")}
    host = spawn_host(servers=[{**STDIO_TOY, "env": env}])
    host.wait_state("toy", "connected")
    return host


def toy_events(tmp_path) -> list[str]:
    """What the toy server recorded: "started TAG" and "cancelled TAG" lines from tagged sleeps."""
    log = tmp_path / "events.log"
    return log.read_text().splitlines() if log.exists() else []


def wait_for_toy_event(tmp_path, line: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while line not in toy_events(tmp_path):
        assert time.monotonic() < deadline, f"the toy server never recorded {line!r}: {toy_events(tmp_path)}"
        time.sleep(0.02)


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
    # Each call answers only once all 16 are under way on the server at the same time: serialised calls
    # would each report that they were alone.
    ids = [
        toy_host.start_request(
            "tool.call", server="toy", tool="meet", arguments={"group": "g", "count": 16, "wait_s": 10}
        )
        for _ in range(16)
    ]
    replies = [toy_host.reply(i, timeout=60) for i in ids]
    assert [r["result"]["content"][0]["text"] for r in replies] == ["met"] * 16


def test_a_call_past_its_timeout_fails_with_timeout_the_server_is_told_and_others_continue(
    toy_host, tmp_path
):
    slow = toy_host.start_request(
        "tool.call", server="toy", tool="sleep", arguments={"seconds": 60, "tag": "slow"}, timeout_s=0.5
    )
    reply = toy_host.reply(slow, timeout=30)
    assert reply["error"]["code"] == "timeout"
    assert reply["error"]["message"] == "sleep on Toy gave no result within 0.5 s"
    wait_for_toy_event(tmp_path, "cancelled slow")
    assert toy_host.result("tool.call", server="toy", tool="echo", arguments={"text": "still here"})
    assert toy_host.server("toy")["state"] == "connected"


def test_a_call_can_be_cancelled_and_the_server_is_told_to_stop_it(toy_host, tmp_path):
    slow = toy_host.start_request(
        "tool.call", server="toy", tool="sleep", arguments={"seconds": 60, "tag": "slow"}
    )
    wait_for_toy_event(tmp_path, "started slow")  # in flight on the server
    assert toy_host.result("tool.cancel", call_id=slow) == {"cancelled": True}
    reply = toy_host.reply(slow, timeout=30)
    assert reply["error"] == {"code": "cancelled", "message": "the call was cancelled"}
    wait_for_toy_event(tmp_path, "cancelled slow")
    assert toy_events(tmp_path) == ["started slow", "cancelled slow"]
    assert toy_host.server("toy")["state"] == "connected"


def test_a_ten_mebibyte_result_arrives_chunked_and_intact(toy_host):
    result = toy_host.result("tool.call", server="toy", tool="big", arguments={"mib": 10}, timeout=60)
    assert result["content"][0]["text"] == "x" * (10 * 1024 * 1024)
    chunks = [f for f in toy_host.frames if f["type"] == "chunk"]
    assert len(chunks) >= 10


def test_a_crashed_stdio_child_is_restarted_and_calls_in_flight_get_errors(toy_host, tmp_path):
    in_flight = toy_host.start_request(
        "tool.call", server="toy", tool="sleep", arguments={"seconds": 30, "tag": "in-flight"}
    )
    wait_for_toy_event(tmp_path, "started in-flight")
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
    (child,) = children_of(toy_host.proc.pid, b"tests.support.toy_server")
    # A child that would outlive its closed stdin by a minute: only the host stopping it ends it in time.
    assert toy_host.result("tool.call", server="toy", tool="linger", arguments={"stay_s": 60})
    # Two seconds is the host's promise (a watchdog ends it at 1.8 s whatever else happens), not a speed.
    assert toy_host.close() < 2.0
    assert toy_host.proc.returncode == 0
    assert not alive(child), "the toy server outlived the host"


@pytest.mark.parametrize("mode", ["http", "sse"])
def test_remote_server_killed_and_restarted(spawn_host, tmp_path, mode):
    server = ToyServer(mode, call_log=tmp_path / "calls.log", event_log=tmp_path / "events.log").start()
    try:
        host = spawn_host(servers=[remote(server.url)])
        connected = host.wait_state("toy", "connected")
        assert connected["transport"] == mode
        in_flight = host.start_request(
            "tool.call", server="toy", tool="sleep", arguments={"seconds": 30, "tag": "in-flight"}
        )
        host.result("tool.call", server="toy", tool="count", arguments={"tag": "before"})
        wait_for_toy_event(tmp_path, "started in-flight")
        server.kill()
        reply = host.reply(in_flight, timeout=15)
        assert reply["ok"] is False and reply["error"]["code"] == "session_lost", reply
        assert reply["error"]["message"].endswith("; it was not retried")
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
    big = toy_host.start_request("tool.call", server="toy", tool="big", arguments={"mib": 5})
    ping = toy_host.start_request("ping")  # sent after the big call, while it runs
    assert toy_host.reply(ping)["result"]["pong"]
    assert len(toy_host.reply(big, timeout=60)["result"]["content"][0]["text"]) == 5 * 1024 * 1024
    # The ping was answered before the big call: it did not wait behind it.
    replies = [f["id"] for f in toy_host.frames if f.get("type") == "reply"]
    chunks = [i for i, f in enumerate(toy_host.frames) if f.get("type") == "chunk"]
    ping_at = next(i for i, f in enumerate(toy_host.frames) if f.get("type") == "reply" and f["id"] == ping)
    assert big not in replies, "a 5 MiB reply travels in chunks"
    assert len(chunks) >= 5 and ping_at < chunks[0]


def test_the_notion_compatible_server_killed_and_restarted(spawn_host):
    from dev_notion.testing import DevNotionProcess

    notion = DevNotionProcess(auth=False, large_page_mib=10).start()
    try:
        host = spawn_host(servers=[remote(notion.mcp_url)])
        assert host.wait_state("toy", "connected")["tools"] == 14
        notion.admin("slow", ms=20_000)
        in_flight = host.start_request("tool.call", server="toy", tool="notion-get-users")
        deadline = time.monotonic() + 10
        while not notion.admin("stats")["calls"].get("notion-get-users"):
            assert time.monotonic() < deadline, "the call never reached the server"
            time.sleep(0.02)
        notion.kill()
        reply = host.reply(in_flight, timeout=15)
        assert reply["ok"] is False and reply["error"]["code"] == "session_lost", reply
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
    host = spawn_host(servers=[STDIO_TOY], env={"NOTION_BRIDGE_ELICITATION_TIMEOUT_S": "3"})
    host.wait_state("toy", "connected")
    call = host.start_request("tool.call", server="toy", tool="ask_name")
    question = host.wait_for(lambda e: e["type"] == "elicitation.request")
    assert question["server"] == "toy" and question["message"] == "What is your name?"
    # The question stays open: the host keeps answering, and neither closes it nor answers the call yet.
    assert host.result("ping")["pong"]
    assert not [f for f in host.frames if f.get("type") == "elicitation.closed"]
    assert not [f for f in host.frames if f.get("type") == "reply" and f["id"] == call]
    # Nobody answers: the server hears "cancel", the extension hears the question is closed.
    assert host.reply(call, timeout=30)["result"]["content"][0]["text"] == "no name (cancel)"
    closed = host.wait_for(lambda e: e["type"] == "elicitation.closed")
    assert closed["elicitation_id"] == question["elicitation_id"]
    late = host.request(
        "elicitation.respond",
        elicitation_id=question["elicitation_id"],
        action="accept",
        content={"name": "x"},
    )
    assert late["error"]["code"] == "unknown_elicitation"
    assert late["error"]["message"] == f"no question with id {question['elicitation_id']!r} is waiting"
