"""The suite-wide token scan finds an issued token wherever it lands, and only issued ones."""

from __future__ import annotations

import hashlib
import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tests.support.token_scan import TokenScan

ISSUED = "ntn_at_" + "A" * 32
MADE_UP = "ntn_rt_" + "B" * 32


def fake_host(frames: list[dict[str, Any]], stderr: list[str]) -> Any:
    closed = threading.Event()
    closed.set()
    return SimpleNamespace(
        frames=frames, stderr_lines=stderr, closed=closed, proc=SimpleNamespace(poll=lambda: 0)
    )


ISSUER = "http://127.0.0.1:8787"


def scan_with_issued(tmp_path: Path) -> TokenScan:
    (tmp_path / "requests").mkdir()
    scan = TokenScan(tmp_path / "issued.txt", tmp_path / "requests")
    scan.issued_log.write_text(f"{ISSUED}\t{ISSUER}\n")
    return scan


def record_request(scan: TokenScan, origin: str, *tokens: str) -> None:
    digests = [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
    with (scan.audit_folder / "123.jsonl").open("a") as out:
        out.write(json.dumps({"origin": origin, "tokens": digests, "argv0": "host"}) + "\n")


def test_a_token_sent_to_its_issuer_is_fine_and_anywhere_else_is_a_leak(tmp_path):
    scan = scan_with_issued(tmp_path)
    record_request(scan, ISSUER, ISSUED)
    record_request(scan, "http://127.0.0.1:9999", MADE_UP)
    assert scan.leaks() == {} and len(scan.requests()) == 2
    record_request(scan, "http://127.0.0.1:9999", ISSUED)
    (places,) = scan.leaks().values()
    assert places == {"a request to http://127.0.0.1:9999"}


def test_an_issued_token_in_a_frame_in_stderr_or_in_a_file_is_a_leak(tmp_path):
    scan = scan_with_issued(tmp_path)
    scan.watch(fake_host([{"type": "status", "notices": [f"oops {ISSUED}"]}], []))
    scan.watch(fake_host([], [f"Traceback ... Bearer {ISSUED}"]))
    scan.scan_hosts()
    tree = tmp_path / "run"
    (tree / "home" / "logs").mkdir(parents=True)
    (tree / "home" / "logs" / "host-20261130-120000-4242.log").write_bytes(
        b"\x00binary\x00" + ISSUED.encode()
    )
    scan.scan_tree(tree)
    (places,) = scan.leaks().values()
    assert len(places) == 3
    assert any("host-20261130-120000-4242.log" in place for place in places)
    assert all(ISSUED not in place for place in places), "the report must never print the value"
    assert scan.hosts == [], "hosts that exited are forgotten once scanned"


def test_a_token_shaped_string_nobody_issued_is_not_a_leak(tmp_path):
    scan = scan_with_issued(tmp_path)
    scan.watch(fake_host([{"type": "reply", "result": MADE_UP}], []))
    scan.scan_hosts()
    assert scan.found and scan.leaks() == {}


def test_frames_are_scanned_once_as_a_long_lived_host_keeps_sending(tmp_path):
    scan = scan_with_issued(tmp_path)
    host = fake_host([{"n": 1}], [])
    host.proc = SimpleNamespace(poll=lambda: None)
    scan.watch(host)
    scan.scan_hosts()
    host.frames.append({"leak": ISSUED})
    scan.scan_hosts()
    assert scan.frames == 2 and scan.leaks()
