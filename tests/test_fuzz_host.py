"""Hostile input at the host's front door: whatever arrives on stdin, the host answers and keeps serving.

Three layers. The frame decoder, in process, under hypothesis (tests/test_framing.py has the round trips):
arbitrary bytes give only messages or named frame errors, huge lengths are never buffered, deep JSON is named. A real host, fed at least 100,000 hostile frames
from a seeded generator (random bytes, non-objects, deep JSON, bad UTF-8, missing and wrong-typed ids, unknown
verbs, every verb with hostile arguments, huge strings): every request with a string id gets exactly one
reply, every frame without one gets an error event, nothing is answered "internal", nothing hangs, and
afterwards a ping and a real SQLite query still work and the configuration still loads. And streams that break
the framing itself (cut headers, cut bodies, huge declared lengths, random byte streams), each in a host of its
own: the host exits cleanly at end of input, without a traceback.

The seed and the frame count can be changed (NOTION_BRIDGE_FUZZ_SEED, NOTION_BRIDGE_FUZZ_FRAMES) to explore;
the defaults are what CI runs.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import struct
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.host_process import ORIGIN, write_config
from host import framing
from host.actions import VERBS as VERB_TABLE
from host.errors import BridgeError, ErrorCode
from host.framing import FrameDecoder
from tests.support import knobs
from tests.support.figures import record

VERBS = tuple(VERB_TABLE)
SEED = int(os.environ.get("NOTION_BRIDGE_FUZZ_SEED", "20261123"))
FRAMES = int(knobs.FUZZ_FRAMES)
#: From this many frames on, every kind of hostile frame is sent at least once (the rarest is 1 in 500).
EVERY_KIND_FROM = 5_000
BATCH = 1000
#: A request still unanswered this long after its batch was sent counts as a hang.
HANG_S = 60.0
_LENGTH = struct.Struct("=I")


# --- the decoder, in process ---------------------------------------------------------------------------


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=300), max_size=10))
def test_arbitrary_bytes_give_only_messages_or_named_frame_errors(chunks):
    decoder = FrameDecoder()
    for chunk in chunks:
        for item in decoder.feed(chunk):
            assert isinstance(item, dict) or (isinstance(item, BridgeError) and item.code and item.message)


@settings(max_examples=50, deadline=None)
@given(st.integers(framing.MAX_INCOMING + 1, 2**32 - 1))
def test_a_huge_declared_length_is_skipped_without_being_held(length):
    decoder = FrameDecoder()
    (named,) = decoder.feed(_LENGTH.pack(length) + b"x" * 100_000)
    assert isinstance(named, BridgeError) and named.code == ErrorCode.FRAME_TOO_LARGE
    assert len(decoder._buffer) == 0, "an oversized frame must not be buffered"


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_deep_json_is_a_named_error(depth):
    (item,) = FrameDecoder().feed(framing.encode_frame(b"[" * depth + b"]" * depth))
    assert isinstance(item, BridgeError) and item.code in (ErrorCode.INVALID_JSON, ErrorCode.NOT_AN_OBJECT)


# --- hostile frames for a real host -----------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\u0000", "\ud800", "\udfff\ud800", "é", "🦀" * 50, "A" * 5000, "../../../../etc/passwd",
    "..\\..\\windows\\system32", "/dev/zero", "'; DROP TABLE users; --", "\" OR 1=1 --", "%s%s%n%x",
    "${jndi:ldap://127.0.0.1:9/x}", "<script>alert(1)</script>", "javascript:alert(1)", "\r\n\r\nHTTP/1.1 200",
    "chrome-extension://abcdefghijklmnopabcdefghijklmnop/", "http://127.0.0.1:9/mcp", "file:///etc/shadow",
    "notion", "__proto__", "constructor", "0", "-1", "NaN", "null", "true", "{}", "[]",
]  # fmt: skip
HOSTILE_NUMBERS = [0, -1, 1, 2**31, 2**63, -(2**64), 10**400, 1e308, -1e-308, 0.5, float("inf"), float("nan")]
FIELDS = [
    "server", "tool", "arguments", "timeout_s", "call_id", "conversation_id", "text", "context", "approve",
    "always", "elicitation_id", "action", "content", "auth_id", "redirect_url", "error", "base_url", "model",
    "api_key", "profile_id", "enabled", "changes",
]  # fmt: skip
#: Verbs that change what is stored never get "sqlite" as their target: it stands for the data that must
#: survive, and is queried at the end. Everything else is fair game.
MUTATING = {
    "server.add",
    "server.update",
    "server.remove",
    "server.enable",
    "server.connect",
    "server.disconnect",
}
SQLITE_TOOLS = ["read_query", "list_tables", "describe_table", "write_query", "", "../read_query"]


class HostileFrames:
    """A seeded generator of hostile frames; each comes with the reply it must get."""

    KINDS = ("random_bytes", "not_object", "deep_json", "bad_utf8", "no_usable_id", "bad_type",
             "unknown_verb", "hostile_arguments", "huge_string", "deep_arguments", "blank_text")  # fmt: skip

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.serial = itertools.count()
        self.kinds: Counter[str] = Counter()
        self.expected: dict[str, str] = {}
        """Request ids whose reply must carry exactly this code."""

    def next_id(self) -> str:
        request_id = f"f{next(self.serial)}:"
        if self.rng.random() < 0.2:
            # Hostile, but still a unique, non-empty string the reply can be matched by.
            request_id += self.rng.choice(HOSTILE_STRINGS)[:150]
        return request_id

    def value(self, depth: int = 0) -> Any:
        roll = self.rng.random()
        if roll < 0.35:
            return self.rng.choice(HOSTILE_STRINGS)
        if roll < 0.5:
            return self.rng.choice(HOSTILE_NUMBERS)
        if roll < 0.6:
            return self.rng.choice([None, True, False])
        if roll < 0.7:
            return "".join(chr(self.rng.randrange(0x110000)) for _ in range(self.rng.randrange(20)))
        if depth < 3 and roll < 0.85:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        if depth < 3:
            return {
                self.rng.choice([*FIELDS, "x"]): self.value(depth + 1) for _ in range(self.rng.randrange(4))
            }
        return self.rng.choice(HOSTILE_STRINGS)

    def request(self, verb: Any) -> dict[str, Any]:
        message: dict[str, Any] = {"type": verb, "id": self.next_id()}
        for field in self.rng.sample(FIELDS, self.rng.randrange(5)):
            message[field] = self.value()
        if verb == "tool.call" and self.rng.random() < 0.5:
            # Well-formed calls to the real SQLite child with hostile arguments.
            message.update(
                server="sqlite",
                tool=self.rng.choice(SQLITE_TOOLS),
                arguments={"query": self.value(), "table_name": self.value()},
            )
            message.pop("timeout_s", None)
        if verb in MUTATING and message.get("server") == "sqlite":
            message["server"] = "fuzz-" + str(self.rng.randrange(10))
        if verb == "server.add" and self.rng.random() < 0.3:
            # Occasionally a valid one, pointing nowhere that answers, so the add path itself is exercised.
            message["server"] = {"name": self.value(), "kind": "remote", "url": "http://127.0.0.1:9/mcp"}
        if verb == "llm.configure" and self.rng.random() < 0.3:
            message.update(base_url="http://127.0.0.1:9/v1", model=self.rng.choice(HOSTILE_STRINGS) or "m")
        return message

    def frame(self) -> tuple[bytes, str | None]:
        """The frame's body, and the id its reply must carry (None: an error event is due instead)."""
        rng = self.rng
        kind = rng.choices(self.KINDS, weights=[8, 6, 2, 3, 8, 5, 8, 56.8, 0.2, 1.5, 1.5])[0]
        self.kinds[kind] += 1
        if kind == "random_bytes":
            body = rng.randbytes(rng.randrange(200))
            return body, _id_in(body)
        if kind == "not_object":
            return json.dumps(rng.choice([self.value(), [self.value()], 1, "x", None])).encode(), None
        if kind == "deep_json":
            depth = rng.choice([2_000, 50_000, 500_000])
            opener, closer = rng.choice([(b"[", b"]"), (b'{"a":', b"}")])
            return opener * depth + b"1" + closer * depth, None
        if kind == "bad_utf8":
            return b'{"type":"ping","id":"' + rng.randbytes(8) + b'\xff\xfe"}', None
        if kind == "no_usable_id":
            message = {"type": rng.choice(VERBS)}
            choice = rng.randrange(3)
            if choice:
                message["id"] = rng.choice([None, 0, 17, [], {}, "", 1.5, True])
            return framing.dumps(message), None
        if kind == "bad_type":
            request_id = self.next_id()
            return json.dumps(
                {"id": request_id, "type": rng.choice([None, 1, [], {}, ""])}
            ).encode(), request_id
        if kind == "unknown_verb":
            request_id = self.next_id()
            verb = rng.choice(
                [rng.choice(HOSTILE_STRINGS) or "x", "ping ", "PING", "reply", "status", "chunk"]
            )
            return json.dumps({"id": request_id, "type": verb}).encode(), request_id
        if kind == "deep_arguments":
            # A valid request whose arguments nest deeper than any real tool's; within what JSON parsers take.
            request_id = self.next_id()
            nested: Any = self.value()
            for _ in range(rng.choice([50, 400, 900])):
                nested = rng.choice([[nested], {"a": nested}])
            verb, fields = rng.choice([
                ("tool.call", {"server": "sqlite", "tool": "read_query", "arguments": {"query": "SELECT 1", "params": nested}}),
                ("tool.call", {"server": "fuzz-0", "tool": "x", "arguments": {"deep": nested}}),
                ("chat.send", {"text": "hello", "context": {"deep": nested}, "conversation_id": "none"}),
            ])  # fmt: skip
            return json.dumps({"type": verb, "id": request_id, **fields}).encode(), request_id
        if kind == "blank_text":
            request_id = self.next_id()
            text = "".join(
                rng.choice([" ", "\t", "\n", "\r", "\u3000", "\u00a0"]) for _ in range(rng.randrange(1, 30))
            )
            self.expected[request_id] = ErrorCode.INVALID_ARGUMENTS
            return json.dumps({"type": "chat.send", "id": request_id, "text": text}).encode(), request_id
        if kind == "huge_string":
            message = self.request(rng.choice(VERBS))
            message[rng.choice(FIELDS)] = rng.choice(["A", "é", "\u0000"]) * rng.randrange(100_000, 400_000)
            return json.dumps(message).encode(), message["id"]
        message = self.request(rng.choice(VERBS))
        return json.dumps(message).encode(), message["id"]


def _id_in(body: bytes) -> str | None:
    """The reply id a body of random bytes would earn, in the unlikely case it is a request."""
    try:
        message = json.loads(body)
    except (ValueError, RecursionError):
        return None
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if isinstance(request_id, str) and request_id else None


class RawHost:
    """The host as the browser starts it, with a reader that only tallies what comes back.

    HostProcess keeps every frame and a queue per request, which is right for a test of a few hundred
    requests and far too heavy for a hundred thousand.
    """

    def __init__(self, home: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host", ORIGIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_TOKEN_STORE": "file", **env},
        )
        self.replies: Counter[str] = Counter()
        self.codes: dict[str, str] = {}
        self.reply_codes: Counter[str] = Counter()
        self.events: Counter[str] = Counter()
        self.internal: list[dict[str, Any]] = []
        self.checks: dict[str, dict[str, Any]] = {}
        """Replies to the closing checks, kept whole."""
        self.status: dict[str, Any] = {}
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        self.stderr: list[str] = []
        self._chunks: dict[str, list[str]] = {}
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def send(self, body: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(_LENGTH.pack(len(body)) + body)

    def flush(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.flush()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while header := out.read(4):
            message = json.loads(out.read(_LENGTH.unpack(header)[0]))
            if message.get("type") == "chunk":
                parts = self._chunks.setdefault(message["stream"], [])
                parts.append(message["data"])
                if not message["last"]:
                    continue
                message = json.loads("".join(self._chunks.pop(message["stream"])))
            with self.changed:
                kind = message.get("type")
                if kind == "reply":
                    self.replies[message["id"]] += 1
                    self.codes[message["id"]] = "ok" if message["ok"] else message["error"]["code"]
                    if message["id"].startswith("after-"):
                        self.checks[message["id"]] = message
                    code = "ok" if message["ok"] else message["error"]["code"]
                    self.reply_codes[code] += 1
                    if code == ErrorCode.INTERNAL:
                        self.internal.append(message)
                elif kind == "error":
                    self.events[message["error"]["code"]] += 1
                elif kind == "status":
                    self.status = message
                self.changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr.append(line.decode(errors="replace"))

    def wait_for(self, ids: list[str], error_events: int, timeout: float) -> list[str]:
        """Wait for a reply to each id and for the error-event total; returns the ids still unanswered."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while True:
                pending = [i for i in ids if not self.replies[i]]
                if not pending and sum(self.events.values()) >= error_events:
                    return []
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    return pending or ["(error events)"]
                self.changed.wait(min(remaining, 1.0))

    def wait_until_connected(self, server_id: str, timeout: float) -> bool:
        def state() -> str | None:
            return next((s["state"] for s in self.status.get("servers", []) if s["id"] == server_id), None)

        with self.changed:
            return self.changed.wait_for(lambda: state() == "connected", timeout)

    def call(self, message: dict[str, Any], timeout: float = 30) -> None:
        self.send(json.dumps(message).encode())
        self.flush()
        assert not self.wait_for([message["id"]], 0, timeout), f"no reply to {message}"
        reply = self.checks[message["id"]]
        assert reply["ok"], reply


@pytest.fixture
def fuzz_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    write_config(
        home,
        [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
          "db_path": str(home / "data" / "sample.db")}],
    )  # fmt: skip
    return home


def test_a_hundred_thousand_hostile_frames_each_get_an_answer_and_the_host_keeps_serving(fuzz_home, tmp_path):
    knobs.FUZZ_FRAMES.check()
    # An empty PATH: no stdio command a generated server.add names can ever be found and run.
    empty = tmp_path / "empty-path"
    empty.mkdir()
    host = RawHost(fuzz_home, {"PATH": str(empty), "NOTION_BRIDGE_HEARTBEAT_S": "5"})
    frames = HostileFrames(SEED)
    ids: list[str] = []
    expected_events = 0
    sent = 0
    started = time.monotonic()
    while sent < FRAMES:
        batch: list[str] = []
        for _ in range(min(BATCH, FRAMES - sent)):
            body, reply_id = frames.frame()
            host.send(body)
            sent += 1
            if reply_id is None:
                expected_events += 1
            else:
                batch.append(reply_id)
        host.flush()
        pending = host.wait_for(batch, expected_events, HANG_S)
        assert host.proc.poll() is None, (
            f"the host exited after {sent} frames: {''.join(host.stderr)[-2000:]}"
        )
        assert not pending, f"no answer within {HANG_S:g} s to {pending[:5]} (after {sent} frames)"
        ids += batch
    elapsed = time.monotonic() - started

    assert sent == FRAMES and len(ids) + expected_events == sent
    if FRAMES >= EVERY_KIND_FROM:
        never = set(HostileFrames.KINDS) - {kind for kind, n in frames.kinds.items() if n}
        assert not never, f"kinds never sent: {never}"
    assert host.internal == [], f"internal errors: {host.internal[:3]}"
    answered_twice = [i for i in ids if host.replies[i] != 1]
    assert not answered_twice, f"answered more than once: {answered_twice[:5]}"
    assert sum(host.events.values()) == expected_events, host.events
    wrong = {i: (code, host.codes.get(i)) for i, code in frames.expected.items() if host.codes.get(i) != code}
    assert frames.kinds["blank_text"] > 0 and not wrong, (
        f"replies with the wrong code: {list(wrong.items())[:5]}"
    )
    assert "Traceback" not in "".join(host.stderr)

    # Still serving: the SQLite child connected, a ping, and a real query on it.
    assert host.wait_until_connected("sqlite", 30), host.status
    host.call({"type": "ping", "id": "after-ping"})
    host.call({"type": "tool.call", "id": "after-sql", "server": "sqlite", "tool": "read_query",
               "arguments": {"query": "SELECT COUNT(*) AS n FROM users"}})  # fmt: skip
    assert host.reply_codes["ok"] > 0

    from host import config as config_store

    os.environ["NOTION_BRIDGE_HOME"] = str(fuzz_home)
    try:
        assert any(s.id == "sqlite" for s in config_store.load().servers)
    finally:
        del os.environ["NOTION_BRIDGE_HOME"]

    assert host.proc.stdin is not None
    host.proc.stdin.close()
    assert host.proc.wait(10) == 0
    record(
        "fuzz_host",
        {
            "frames": sent,
            "seconds": round(elapsed, 1),
            "frames_per_second": round(sent / elapsed),
            "kinds": dict(frames.kinds),
            "requests_with_id": len(ids),
            "reply_codes": dict(host.reply_codes),
            "error_events": dict(host.events),
        },
    )


# --- streams that break the framing ---------------------------------------------------------------------


def _streams() -> list[tuple[str, bytes]]:
    rng = random.Random(SEED)
    ping = framing.encode_frame(b'{"type":"ping","id":"p"}')
    cases = [
        ("header cut after 1 byte", b"\x05"),
        ("header cut after 3 bytes", b"\x05\x00\x00"),
        ("body cut short", _LENGTH.pack(100) + b'{"type":"ping"'),
        ("huge declared length", _LENGTH.pack(2**32 - 1)),
        ("huge length after a good frame", ping + _LENGTH.pack(2**31)),
        ("just over the limit, sent whole", _LENGTH.pack(framing.MAX_INCOMING + 1) + b"\0" * (framing.MAX_INCOMING + 1)),
        ("a good frame then garbage", ping + rng.randbytes(64)),
    ]  # fmt: skip
    cases += [(f"random stream {n}", rng.randbytes(rng.randrange(1, 4096))) for n in range(20)]
    return cases


def expected_answers(stream: bytes) -> list[tuple[str, str]]:
    """What a host must send back for ``stream``, worked out from the wire format alone (not with the host's
    decoder): ("reply", id) for a request, ("error", code) for a frame it cannot use, in order."""
    answers: list[tuple[str, str]] = []
    position = 0
    while len(stream) - position >= _LENGTH.size:
        (length,) = _LENGTH.unpack_from(stream, position)
        position += _LENGTH.size
        if length > framing.MAX_INCOMING:
            # Named from its header alone; everything after it is its body, whether or not it all came.
            answers.append(("error", ErrorCode.FRAME_TOO_LARGE))
            break
        if len(stream) - position < length:
            break  # cut short: the stream ended inside the body, there is no frame to answer
        body = stream[position : position + length]
        position += length
        try:
            message = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError):
            answers.append(("error", ErrorCode.INVALID_JSON))
            continue
        if not isinstance(message, dict):
            answers.append(("error", ErrorCode.NOT_AN_OBJECT))
        elif not isinstance(message.get("id"), str) or not message["id"]:
            answers.append(("error", ErrorCode.MISSING_ID))
        else:
            answers.append(("reply", message["id"]))
    return answers


@pytest.mark.parametrize(("name", "stream"), _streams(), ids=[name for name, _ in _streams()])
def test_a_stream_that_breaks_the_framing_ends_in_a_clean_exit(fuzz_home, name, stream):
    write_config(fuzz_home, [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "host", ORIGIN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NOTION_BRIDGE_HOME": str(fuzz_home), "NOTION_BRIDGE_TOKEN_STORE": "file"},
    )
    out, err = proc.communicate(stream, timeout=30)
    assert proc.returncode == 0, err.decode(errors="replace")[-2000:]
    assert b"Traceback" not in err
    decoder = FrameDecoder()
    messages = decoder.feed(out)
    assert not decoder.mid_frame and messages[0]["type"] == "hello"
    answers = [
        ("reply", m["id"]) if m["type"] == "reply" else ("error", m["error"]["code"])
        for m in messages[1:]
        if isinstance(m, dict) and m["type"] in ("reply", "error")
    ]
    expected = expected_answers(stream)
    # Error events go out in frame order; a reply comes when its request's task ends, so only its presence
    # is fixed.
    assert [a for a in answers if a[0] == "error"] == [e for e in expected if e[0] == "error"]
    assert sorted(a for a in answers if a[0] == "reply") == sorted(e for e in expected if e[0] == "reply")
    replies = [m for m in messages if isinstance(m, dict) and m["type"] == "reply"]
    assert all(r["ok"] and r["result"]["pong"] for r in replies), replies


def test_the_breaking_streams_cover_each_way_a_stream_breaks():
    """The expectations above are not all "nothing": what each case must get back, worked out once by hand."""
    by_name = dict(_streams())
    assert expected_answers(by_name["header cut after 1 byte"]) == []
    assert expected_answers(by_name["body cut short"]) == []
    for name in ("huge declared length", "just over the limit, sent whole"):
        assert expected_answers(by_name[name]) == [("error", "frame_too_large")]
    assert expected_answers(by_name["huge length after a good frame"]) == [
        ("reply", "p"),
        ("error", "frame_too_large"),
    ]
    answers = [expected_answers(s) for _, s in _streams()]
    named = sum(("error", "frame_too_large") in a for a in answers)
    assert (len(answers), named, answers.count([])) == (27, 24, 3), "27 streams: 24 name a frame, 3 nothing"
