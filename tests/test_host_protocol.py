"""The host as the browser sees it: hello first, one reply per request, and no input that can kill it."""

from __future__ import annotations

import json
import re
import struct
import sys
import time

import pytest

from devkit.host_process import ORIGIN
from host import EXTENSION_ID, PROTOCOL_VERSION, __version__
from host.errors import ErrorCode
from tests.support.processes import ROOT
from tests.support.protocol_check import conforms, request_conforms, verbs

TOY = {"id": "toy", "name": "Toy", "kind": "stdio", "cwd": str(ROOT),
       "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"]}  # fmt: skip


def frame(body: bytes) -> bytes:
    return struct.pack("=I", len(body)) + body


@pytest.fixture
def host(spawn_host):
    host = spawn_host(servers=[])
    host.wait_for(lambda e: e["type"] == "status")
    return host


def test_first_frame_is_hello_then_status(spawn_host):
    host = spawn_host(servers=[])
    host.wait_for(lambda e: e["type"] == "status")
    hello, status = host.frames[0], host.frames[1]
    assert hello == {"type": "hello", "protocol": PROTOCOL_VERSION, "host_version": __version__}
    conforms(hello)
    conforms(status)


def test_default_configuration_offers_notion_and_the_sample_database(spawn_host):
    host = spawn_host()
    status = host.wait_for(lambda e: e["type"] == "status")
    servers = {s["id"]: s for s in status["servers"]}
    assert servers["notion"]["kind"] == "remote" and servers["notion"]["state"] == "disabled"
    assert servers["sqlite"]["kind"] == "stdio" and servers["sqlite"]["enabled"] is True


def test_ping_is_answered_with_a_reply_carrying_the_same_id(host):
    reply = host.request("ping", id="abc")
    conforms(reply)
    assert reply["id"] == "abc" and reply["ok"] is True and reply["result"]["pong"] is True


def documented(section: str) -> list[str]:
    """The first column of the table under ``## section`` in docs/protocol.md (verbs, events, error codes)."""
    text = (ROOT / "docs" / "protocol.md").read_text(encoding="utf-8")
    body = text.split(f"\n## {section}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_.]+)` \|", body, re.M)


def registered_verbs() -> list[str]:
    import host.actions  # importing the actions is what fills the registry
    from host.protocol.verbs import VERBS

    assert host.actions.VERBS is VERBS
    return list(VERBS)


def test_the_documented_verbs_are_the_registered_ones_and_the_schemas_ones():
    in_docs, in_registry = documented("Requests and replies"), registered_verbs()
    assert len(in_registry) >= 20 and len(set(in_docs)) == len(in_docs)
    assert set(in_docs) == set(in_registry) == set(verbs())
    assert set(documented("Error codes")) == set(ErrorCode.all())


def test_every_documented_verb_is_served_by_a_live_host(host):
    """Sent bare (just an id), each verb reaches its handler or its request model: never unknown_verb."""
    answers = {verb: host.request(verb, id=f"bare-{verb}") for verb in documented("Requests and replies")}
    unknown = [
        verb
        for verb, reply in answers.items()
        if not reply["ok"] and reply["error"]["code"] == "unknown_verb"
    ]
    assert unknown == []
    for reply in answers.values():
        conforms(reply)
    request_conforms({"type": "tool.call", "id": "1", "server": "s", "tool": "t"})


def test_server_get_answers_one_entry_and_names_the_unknown(spawn_host):
    host = spawn_host(servers=[{"id": "gone", "name": "Gone", "kind": "remote", "url": "http://127.0.0.1:9/mcp", "enabled": False}])  # fmt: skip
    entry = host.result("server.get", server="gone")
    assert conforms({"type": "status", "servers": [entry], "notices": []})
    assert entry["id"] == "gone" and entry["state"] == "disabled"
    reply = host.request("server.get", server="nope")
    assert reply["error"]["code"] == "unknown_server" and "gone" in reply["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (frame(b"garbage"), "invalid_json"),
        (frame(b"[1]"), "not_an_object"),
        (frame(b'{"id": "1"}'), "missing_type"),
        (frame(b'{"type": "ping"}'), "missing_id"),
        (frame(b'{"type": "ping", "id": 7}'), "missing_id"),
        (frame(b"\xc3\x28"), "invalid_json"),
    ],
)
def test_unusable_frames_get_an_error_and_the_host_keeps_serving(host, raw, code):
    host.send_raw(raw)
    # A frame with a usable id is answered by a reply to that id; anything else by an error event.
    answer = host.reply("1") if b'"id": "1"' in raw else host.wait_for(lambda e: e["type"] == "error")
    assert answer["error"]["code"] == code
    assert host.result("ping")["pong"] is True


def test_a_declared_length_over_64_mib_is_rejected_and_skipped(host):
    size = 64 * 1024 * 1024 + 1
    host.send_raw(struct.pack("=I", size) + b"\0" * size)
    error = host.wait_for(lambda e: e["type"] == "error", timeout=30)
    assert error["error"]["code"] == "frame_too_large"
    assert host.result("ping")["pong"] is True


@pytest.mark.parametrize(
    ("request_fields", "code", "words"),
    [
        ({"type": "no.such.verb"}, "unknown_verb", "no.such.verb"),
        ({"type": "tool.call", "server": "ghost", "tool": "t"}, "unknown_server", "ghost"),
        ({"type": "tool.call", "server": 5, "tool": "t"}, "invalid_arguments", "server"),
        ({"type": "tool.call", "server": "x"}, "invalid_arguments", "tool"),
        (
            {"type": "tool.call", "server": "x", "tool": "t", "timeout_s": -1},
            "invalid_arguments",
            "timeout_s",
        ),
        ({"type": "tools.list", "server": "ghost"}, "unknown_server", "ghost"),
        ({"type": "server.enable", "server": "ghost", "enabled": True}, "unknown_server", "ghost"),
        ({"type": "server.add", "server": {"name": "x", "kind": "remote"}}, "invalid_arguments", "url"),
        (
            {"type": "server.add", "server": {"name": "x", "kind": "remote", "url": "ftp://x"}},
            "invalid_arguments",
            "http",
        ),
        ({"type": "server.add", "server": {"name": "x", "kind": "stdio"}}, "invalid_arguments", "command"),
        ({"type": "tool.cancel", "call_id": "nothing"}, "unknown_call", "nothing"),
        (
            {"type": "auth.result", "auth_id": "nothing", "redirect_url": "https://x.chromiumapp.org/"},
            "unknown_auth",
            "no sign-in with id 'nothing' is waiting",
        ),
        ({"type": "ping", "extra": 1}, "invalid_arguments", "extra"),
        (
            {"type": "tool.call", "server": "sqlite", "tool": "read_query", "arguments": {"query": "\ud800"}},
            "invalid_arguments",
            "arguments.query: holds an unpaired UTF-16 surrogate",
        ),
        ({"type": "chat.delete", "conversation_id": "x\udfff"}, "invalid_arguments", "conversation_id"),
    ],
)
def test_bad_requests_are_answered_with_an_error_that_names_the_cause(host, request_fields, code, words):
    reply = host.request(request_fields.pop("type"), **request_fields)
    assert reply["ok"] is False
    assert reply["error"]["code"] == code
    assert words in reply["error"]["message"]
    assert host.result("ping")["pong"] is True


def test_a_reply_to_an_id_holding_a_lone_surrogate_still_goes_out(host):
    # JSON.stringify in the extension may produce one; it cannot be UTF-8, so the reply escapes it.
    reply = host.request("ping", id="p\ud800")
    assert (
        reply["error"]["code"] == "invalid_arguments" and "id: holds an unpaired" in reply["error"]["message"]
    )
    assert host.result("ping")["pong"] is True


def test_truncated_frame_at_eof_shuts_down_cleanly(host):
    host.send_raw(struct.pack("=I", 100) + b'{"type":')
    assert host.close() < 2.0
    assert host.proc.returncode == 0


def test_eof_shuts_the_host_down_within_two_seconds(host):
    assert host.close() < 2.0
    assert host.proc.returncode == 0


@pytest.mark.parametrize(
    "origin",
    [
        "chrome-extension://abcdefghijklmnopabcdefghijklmnop/",
        f"chrome-extension://{EXTENSION_ID}.evil.example/",
        f"chrome-extension://{EXTENSION_ID.upper()}/",
        f"chrome-extension://{EXTENSION_ID}",
        f"https://{EXTENSION_ID}/",
        "",
    ],
    ids=["other-id", "id-as-prefix", "upper-case", "no-slash", "web-origin", "none"],
)
def test_a_foreign_origin_is_refused(spawn_host, origin):
    host = spawn_host(servers=[], origin=origin)
    host.proc.wait(5)
    assert host.proc.returncode != 0
    host.closed.wait(5)
    shown = origin if origin.startswith("chrome-extension://") else "no origin"
    assert host.frames == [
        {
            "type": "error",
            "error": {
                "code": "forbidden_origin",
                "message": f"this host serves the Notion MCP Bridge extension only, not {shown}",
            },
        }
    ]


def test_an_extra_extension_id_from_the_config_is_allowed(spawn_host, host_home):
    from devkit.host_process import write_config

    write_config(host_home, [], allowed_extension_ids=["abcdefghijklmnopabcdefghijklmnop"])
    host = spawn_host(origin="chrome-extension://abcdefghijklmnopabcdefghijklmnop/")
    host.wait_for(lambda e: e["type"] == "status")
    assert host.frames[0]["type"] == "hello"


def test_config_get_returns_the_stored_configuration(host):
    config = host.result("config.get")
    assert config["servers"] == [] and config["version"] == 1


def test_a_broken_config_file_is_set_aside_not_overwritten(spawn_host, host_home):
    config_dir = host_home / "config"
    config_dir.mkdir(parents=True)
    (config_dir / "config.json").write_text('{"version": 1, "servers": [{"id": "BAD ID"}]}')
    host = spawn_host()
    status = host.wait_for(lambda e: e["type"] == "status")
    assert "moved to config.json.broken-" in status["notices"][0]
    aside = list(config_dir.glob("config.json.broken-*"))
    assert len(aside) == 1 and json.loads(aside[0].read_text())["servers"][0]["id"] == "BAD ID"


def test_origin_constant_matches_the_extension_manifest_key():
    import base64
    import hashlib
    from pathlib import Path

    from host import EXTENSION_ID

    manifest = json.loads((Path(__file__).parents[1] / "extension" / "manifest.json").read_text())
    digest = hashlib.sha256(base64.b64decode(manifest["key"])).hexdigest()[:32]
    assert "".join(chr(ord("a") + int(c, 16)) for c in digest) == EXTENSION_ID
    assert f"chrome-extension://{EXTENSION_ID}/" == ORIGIN


def test_the_default_sqlite_server_works_with_no_set_up(spawn_host, host_home):
    host = spawn_host()
    connected = host.wait_state("sqlite", "connected", timeout=30)
    assert connected["tools"] == 3 and connected["transport"] == "stdio"
    assert (host_home / "data" / "sample.db").exists()
    result = host.result(
        "tool.call",
        server="sqlite",
        tool="read_query",
        arguments={"query": "SELECT COUNT(*) AS n FROM users"},
    )
    assert result["structuredContent"]["rows"] == [{"n": 120}]


def wait_for_line(path, line: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while line not in (path.read_text().splitlines() if path.exists() else []):
        assert time.monotonic() < deadline, f"{line!r} never appeared in {path.name}"
        time.sleep(0.02)


def test_a_request_reusing_the_id_of_one_in_flight_gets_duplicate_id(spawn_host, tmp_path):
    events = tmp_path / "events.log"
    host = spawn_host(servers=[{**TOY, "env": {"TOY_EVENT_LOG": str(events)}}])
    host.wait_state("toy", "connected")
    host.start_request(
        "tool.call", id="same", server="toy", tool="sleep", arguments={"seconds": 2, "tag": "first"}
    )
    wait_for_line(events, "started first")
    host.start_request("tool.call", id="same", server="toy", tool="echo", arguments={"text": "second"})
    refused = host.reply("same")
    assert refused["error"] == {
        "code": "duplicate_id",
        "message": "a request with id 'same' is still in flight",
    }
    first = host.reply("same", timeout=30)
    assert first["ok"] and first["result"]["content"][0]["text"] == "slept 2.0"
    # Answered, the id is free again.
    assert host.result("tool.call", id="same", server="toy", tool="echo", arguments={"text": "again"})


def test_a_request_in_flight_when_the_browser_goes_gets_shutting_down(spawn_host, tmp_path):
    events = tmp_path / "events.log"
    host = spawn_host(servers=[{**TOY, "env": {"TOY_EVENT_LOG": str(events)}}])
    host.wait_state("toy", "connected")
    call = host.start_request(
        "tool.call", server="toy", tool="sleep", arguments={"seconds": 60, "tag": "long"}
    )
    wait_for_line(events, "started long")
    host.close()
    assert host.proc.returncode == 0
    reply = host.reply(call, timeout=5)
    assert reply["error"] == {"code": "shutting_down", "message": "the host is shutting down"}


def test_a_configuration_that_cannot_be_stored_is_config_error_and_nothing_changes(host, host_home):
    config_file = host_home / "config" / "config.json"
    config_file.unlink()
    config_file.mkdir()  # where the file must go, a folder: neither read nor written
    reply = host.request(
        "server.add", server={"name": "New", "kind": "remote", "url": "http://127.0.0.1:9/mcp"}
    )
    assert reply["ok"] is False and reply["error"]["code"] == "config_error"
    assert reply["error"]["message"].startswith("the configuration could not be stored (IsADirectoryError")
    assert host.result("status.get")["servers"] == [], "the server was not added"
    assert host.result("ping")["pong"] is True


def test_every_error_code_is_expected_by_some_test():
    """A code no test ever expects can break unnoticed: each one must appear, quoted, in a test that makes the
    host send it. ``internal`` is the exception: tests assert it never comes."""
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").glob("test_*.py"))
    untested = [code for code in ErrorCode.all() if code != ErrorCode.INTERNAL and f'"{code}"' not in sources]
    assert untested == []
