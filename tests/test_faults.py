"""Servers that die, drop, stall, crawl or push back, while calls keep coming: every call gets one answer in
time, a failure says why, nothing runs twice, and the server is back to connected after each fault.

Double execution is checked where it would happen, on the server: the Notion-compatible server records every
call it receives (DEV_NOTION_CALL_LOG) and the SQLite server every statement (--query-log), each in a file
that outlives the process. Every call carries a unique marker; a marker may appear at most once, and every
call answered ok must appear exactly once.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import statistics
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dev_notion.testing import DevNotionProcess
from devkit.host_process import HostProcess
from tests.support import knobs
from tests.support.figures import record
from tests.support.processes import ROOT, children_of

KILLS = int(knobs.FAULT_KILLS)
CALL_TIMEOUT_S = 5.0
#: A call with no reply this long after its own timeout counts as hung.
HANG_MARGIN_S = 10.0
#: The only failures a caller may see while a server is killed and restarted, and the words each must carry:
#: a call in flight when the server went is lost and not retried; one made while it is down is refused at
#: once, naming the server and why it is not connected. A timeout or a server_error here would be a bug
#: (a call that hung, or a dropped connection reported as the server's fault).
FAULT_WORDS = {
    "session_lost": re.compile(r"^the session with \w+ was lost during the call \(.+\); it was not retried$"),
    "not_connected": re.compile(
        r"^\w+ is not connected( \(connecting\)(: .+)?| \(error\): .+|: the session just ended \(.+\); reconnecting)$"
    ),
}


class SteadyCalls:
    """One caller issuing tool calls back to back, each with a unique marker, tallying the answers."""

    def __init__(
        self, host: HostProcess, server: str, call: Callable[[str], tuple[str, dict[str, Any]]]
    ) -> None:
        self.host, self.server, self.call = host, server, call
        self.outcomes: list[tuple[str, str, str]] = []
        """(marker, "ok" or the error code, the error message)."""
        self.hung: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._serial = 0

    def __enter__(self) -> SteadyCalls:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(CALL_TIMEOUT_S + HANG_MARGIN_S + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._serial += 1
            marker = f"m{self._serial}x"
            tool, arguments = self.call(marker)
            try:
                reply = self.host.request(
                    "tool.call",
                    timeout=CALL_TIMEOUT_S + HANG_MARGIN_S,
                    server=self.server,
                    tool=tool,
                    arguments=arguments,
                    timeout_s=CALL_TIMEOUT_S,
                )
            except AssertionError:
                self.hung.append(marker)
                continue
            if reply["ok"] and not reply["result"].get("isError"):
                self.outcomes.append((marker, "ok", ""))
            elif reply["ok"]:
                self.outcomes.append((marker, "tool_error", json.dumps(reply["result"]["content"])))
            else:
                self.outcomes.append((marker, reply["error"]["code"], reply["error"]["message"]))
            # Paced like a person's or an agent's calls, so the failures while a server is down stay countable.
            time.sleep(0.02)

    def ok_count(self) -> int:
        return sum(1 for _, code, _ in self.outcomes if code == "ok")


MARKER = re.compile(r"\bm(?:\d+|-[a-z-]+-)x\b")


def markers_in(log: Path) -> Counter[str]:
    return Counter(MARKER.findall(log.read_text(encoding="utf-8"))) if log.exists() else Counter()


def assert_answered_once_each(calls: SteadyCalls, log: Path) -> dict[str, Any]:
    assert calls.hung == [], f"calls with no answer: {calls.hung[:5]}"
    codes = Counter(code for _, code, _ in calls.outcomes)
    unexpected = [(m, c, msg) for m, c, msg in calls.outcomes if c not in {*FAULT_WORDS, "ok"}]
    assert not unexpected, f"failures other than a lost server: {unexpected[:3]}"
    wordless = [(m, c, msg) for m, c, msg in calls.outcomes if c != "ok" and not FAULT_WORDS[c].match(msg)]
    assert not wordless, f"failures without their cause in words: {wordless[:3]}"
    assert codes["session_lost"] + codes["not_connected"] > 0, "no call ever met a server that was down"
    executed = markers_in(log)
    twice = [m for m, n in executed.items() if n > 1]
    assert twice == [], f"executed more than once: {twice[:5]}"
    ok_missing = [m for m, c, _ in calls.outcomes if c == "ok" and executed[m] != 1]
    assert ok_missing == [], f"answered ok but not executed exactly once: {ok_missing[:5]}"
    examples = {code: msg for _, code, msg in reversed(calls.outcomes) if code != "ok"}
    why_not_connected = Counter(
        "session just ended" if "just ended" in msg else msg.split("(")[1].split(")")[0]
        for _, code, msg in calls.outcomes
        if code == "not_connected"
    )
    return {
        "calls": len(calls.outcomes),
        "codes": dict(codes),
        "not_connected_by_state": dict(why_not_connected),
        "executed": sum(executed.values()),
        "example_errors": examples,
    }


def wait_connected(host: HostProcess, server: str, timeout: float = 60) -> None:
    host.wait_state(server, "connected", timeout=timeout)


def forget_events(host: HostProcess) -> None:
    """Drop the events received so far: a wait that follows sees only what happens from now on."""
    while not host.events.empty():
        host.events.get_nowait()


def wait_down_then_up(host: HostProcess, server: str) -> None:
    """The host noticed the fault (left connected), then is connected again: a status from before the fault
    can satisfy neither wait (``forget_events`` before the fault; the latest status says connected)."""
    left = host.wait_state(server, "connecting", "error", timeout=60)
    assert left["state"] != "connected"
    wait_connected(host, server)


def wait_for_an_ok_call(calls: SteadyCalls, before: int) -> None:
    """Back to serving: a call made after the reconnection succeeds."""
    deadline = time.monotonic() + 30
    while calls.ok_count() <= before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert calls.ok_count() > before, "no call succeeded after the server came back"


def summary(label: str, figures: dict[str, Any], recoveries: list[float]) -> None:
    figures |= {
        "faults": len(recoveries),
        "recovery_median_s": round(statistics.median(recoveries), 3),
        "recovery_max_s": round(max(recoveries), 3),
    }
    record(label, figures)


# --- the Notion-compatible server killed and restarted ---------------------------------------------------


@pytest.fixture
def call_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = tmp_path / "calls.log"
    monkeypatch.setenv("DEV_NOTION_CALL_LOG", str(log))
    return log


@pytest.fixture
def notion(call_log: Path) -> Iterator[DevNotionProcess]:
    server = DevNotionProcess(auth=False).start()
    yield server
    server.kill()


def test_the_notion_server_killed_and_restarted_under_steady_calls(spawn_host, notion, call_log):
    knobs.FAULT_KILLS.check()
    host = spawn_host(servers=[{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}])
    wait_connected(host, "notion")
    recoveries: list[float] = []
    with SteadyCalls(host, "notion", lambda m: ("notion-search", {"query": m})) as calls:
        for _ in range(KILLS):
            time.sleep(0.4)
            before = calls.ok_count()
            forget_events(host)
            killed_at = time.monotonic()
            notion.kill()
            time.sleep(0.2)  # the fault itself: the server stays down this long
            notion.start()
            wait_down_then_up(host, "notion")
            recoveries.append(time.monotonic() - killed_at)
            wait_for_an_ok_call(calls, before)
    figures = assert_answered_once_each(calls, call_log)
    assert len(recoveries) == KILLS and figures["codes"].get("ok", 0) > KILLS
    summary("notion_kills", figures, recoveries)


# --- the SQLite child killed ------------------------------------------------------------------------------


def test_the_sqlite_child_killed_under_steady_queries(spawn_host, host_home, tmp_path):
    knobs.FAULT_KILLS.check()
    from host.sqlite_server.sample import create_sample_database

    db = tmp_path / "sample.db"
    create_sample_database(db)
    query_log = tmp_path / "queries.log"
    command = [sys.executable, "-m", "host.sqlite_server", "--db", str(db), "--query-log", str(query_log)]
    host = spawn_host(servers=[{"id": "sqlite", "name": "SQLite", "kind": "stdio", "command": command}])
    wait_connected(host, "sqlite")
    before_digest = db.read_bytes()
    recoveries: list[float] = []
    query = "SELECT '{marker}' AS marker, COUNT(*) AS n FROM tasks"
    with SteadyCalls(host, "sqlite", lambda m: ("read_query", {"query": query.format(marker=m)})) as calls:
        for _ in range(KILLS):
            time.sleep(0.4)
            before = calls.ok_count()
            (child,) = children_of(host.proc.pid, b"host.sqlite_server")
            forget_events(host)
            killed_at = time.monotonic()
            os.kill(child, signal.SIGKILL)
            wait_down_then_up(host, "sqlite")
            recoveries.append(time.monotonic() - killed_at)
            wait_for_an_ok_call(calls, before)
    figures = assert_answered_once_each(calls, query_log)
    assert len(recoveries) == KILLS and figures["codes"].get("ok", 0) > KILLS
    assert db.read_bytes() == before_digest, "the database changed"
    summary("sqlite_kills", figures, recoveries)


# --- a connection dropped under a call ----------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["sse", "http"])
def test_a_connection_dropped_mid_call_fails_that_call_as_lost_and_recovers(
    spawn_host, notion, call_log, transport
):
    notion.admin("slow", ms=1500)
    url = notion.sse_url if transport == "sse" else notion.mcp_url
    host = spawn_host(
        servers=[{"id": "notion", "name": "Notion", "kind": "remote", "url": url, "transport": transport}]
    )
    assert host.wait_state("notion", "connected")["transport"] == transport
    in_flight = host.start_request("tool.call", server="notion", tool="notion-search",
                                   arguments={"query": "m-dropped-x"}, timeout_s=30)  # fmt: skip
    deadline = time.monotonic() + 10
    while "m-dropped-x" not in (call_log.read_text() if call_log.exists() else ""):
        assert time.monotonic() < deadline, "the call never reached the server"
        time.sleep(0.02)
    notion.kill()  # the stream carrying the answer goes with it
    reply = host.reply(in_flight, timeout=CALL_TIMEOUT_S + HANG_MARGIN_S)
    assert reply["ok"] is False and reply["error"]["code"] == "session_lost"
    assert FAULT_WORDS["session_lost"].match(reply["error"]["message"]), reply["error"]["message"]
    notion.start()
    wait_connected(host, "notion")
    after = host.result("tool.call", server="notion", tool="notion-search", arguments={"query": "m-after-x"})
    assert not after.get("isError")
    assert markers_in(call_log) == Counter({"m-dropped-x": 1, "m-after-x": 1})


# --- a server that accepts connections and never answers ---------------------------------------------------


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts TCP connections, reads whatever comes, and never writes a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                continue
            held.append(connection)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/mcp"
    stop.set()
    thread.join()
    for connection in held:
        connection.close()
    listener.close()


def test_a_server_that_never_answers_is_an_error_in_words_and_others_keep_working(
    spawn_host, host_home, silent_server
):
    sqlite = {"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
              "db_path": str(host_home / "data" / "sample.db")}  # fmt: skip
    host = spawn_host(
        servers=[{"id": "silent", "name": "Silent", "kind": "remote", "url": silent_server}, sqlite],
        env={"NOTION_BRIDGE_CONNECT_TIMEOUT_S": "3"},
    )
    wait_connected(host, "sqlite")
    entry = host.wait_state("silent", "error", timeout=60)
    assert "no answer to the MCP handshake within 3 s" in entry["error"], entry["error"]
    assert entry["retry_at"] is not None
    # Refused, not queued: with a 600 s timeout of its own, only a refusal answers within the wait.
    reply = host.request(
        "tool.call", timeout=30, server="silent", tool="anything", arguments={}, timeout_s=600
    )
    assert reply["error"]["code"] == "not_connected"
    assert reply["error"]["message"].startswith("Silent is not connected (error): no answer to the MCP")
    rows = host.result(
        "tool.call", server="sqlite", tool="read_query", arguments={"query": "SELECT 1 AS one"}
    )
    assert rows["structuredContent"]["rows"] == [{"one": 1}]


# --- slow and rate-limited responses ----------------------------------------------------------------------


def test_slow_answers_complete_within_their_timeout_or_fail_with_timeout(spawn_host, notion, call_log):
    host = spawn_host(servers=[{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}])
    wait_connected(host, "notion")
    notion.admin("slow", ms=1500)
    patient = host.request("tool.call", timeout=20, server="notion", tool="notion-search",
                           arguments={"query": "m-patient-x"}, timeout_s=5)  # fmt: skip
    assert patient["ok"] and not patient["result"].get("isError")
    hasty = host.request("tool.call", timeout=20, server="notion", tool="notion-search",
                         arguments={"query": "m-hasty-x"}, timeout_s=0.5)  # fmt: skip
    assert hasty["error"]["code"] == "timeout" and "0.5 s" in hasty["error"]["message"]
    notion.admin("slow", ms=0)
    # The session survives a timed-out call.
    assert not host.result("tool.call", server="notion", tool="notion-get-users", arguments={}).get("isError")
    assert host.server("notion")["state"] == "connected"


def arrivals(log: Path, tool: str) -> list[float]:
    return [
        float(line.split("\t")[0]) for line in log.read_text().splitlines() if line.split("\t")[1] == tool
    ]


def test_a_rate_limited_answer_holds_the_next_call_back_for_retry_after_seconds(spawn_host, notion, call_log):
    host = spawn_host(servers=[{"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url}])
    wait_connected(host, "notion")
    notion.admin("rate-limit", calls=1, retry_after_seconds=2)
    limited = host.result("tool.call", server="notion", tool="notion-get-users", arguments={})
    assert limited["isError"] and limited["structuredContent"]["error"]["retry_after_seconds"] == 2
    after = host.result("tool.call", server="notion", tool="notion-get-users", arguments={}, timeout_s=10)
    assert not after.get("isError")
    first, second = arrivals(call_log, "notion-get-users")
    assert second - first >= 2.0, f"the next call reached the server {second - first:.2f} s later"

    # A call whose own timeout is shorter than the wait is not sent at all, and says when to try again.
    notion.admin("rate-limit", calls=1, retry_after_seconds=30)
    host.result("tool.call", server="notion", tool="notion-get-users", arguments={})
    refused = host.request("tool.call", server="notion", tool="notion-get-users", arguments={}, timeout_s=2)
    assert refused["error"]["code"] == "rate_limited"
    assert (
        "try again in 30 s" in refused["error"]["message"]
        or "try again in 29 s" in refused["error"]["message"]
    )
    assert len(arrivals(call_log, "notion-get-users")) == 3


# --- the moment between a session ending and the host noticing --------------------------------------------


def test_a_call_in_the_moment_after_a_session_ends_says_the_session_just_ended(spawn_host, tmp_path):
    """The connection is marked lost before the supervisor's loop changes the state, and here that moment
    lasts (the child closed its stdout but has not exited, so the client's cleanup waits for it). A call
    then must say the session just ended, not "not connected (connected)"."""
    events = tmp_path / "toy-events.log"
    toy = {"id": "toy", "name": "Toy", "kind": "stdio", "cwd": str(ROOT), "env": {"TOY_EVENT_LOG": str(events)},
           "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"]}  # fmt: skip
    host = spawn_host(servers=[toy])
    wait_connected(host, "toy")
    forget_events(host)
    assert host.result("tool.call", server="toy", tool="hang_up", arguments={"stay_s": 10})
    deadline = time.monotonic() + 10
    while "hung up" not in (events.read_text() if events.exists() else ""):
        assert time.monotonic() < deadline, "the child never closed its stdout"
        time.sleep(0.01)
    replies = []
    while not replies or replies[-1]["ok"] or replies[-1]["error"]["code"] == "session_lost":
        # A call may race the end of the stream and be lost with it; the first one refused is the point.
        assert len(replies) < 500, "no call was refused after the session ended"
        call = host.start_request("tool.call", server="toy", tool="echo", arguments={"text": "x"})
        replies.append(host.reply(call, timeout=10))
    refused = replies[-1]["error"]
    assert refused["code"] == "not_connected"
    assert refused["message"] == (
        "Toy is not connected: the session just ended (the server closed the connection); reconnecting"
    )
    # It was refused while the host still said connected: the moment this test is about.
    order = [
        "refused" if f.get("type") == "reply" else f["servers"][0]["state"]
        for f in host.frames
        if f.get("type") == "status" or (f.get("type") == "reply" and f["id"] == call)
    ]
    position = order.index("refused")
    assert order[position - 1] == "connected", order[position - 3 : position + 2]
    wait_down_then_up(host, "toy")
    assert (
        host.result("tool.call", server="toy", tool="echo", arguments={"text": "back"})["content"][0]["text"]
        == "back"
    )
