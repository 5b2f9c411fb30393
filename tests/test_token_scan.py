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


# --- the scan's own wiring: a scan that sees nothing must not pass ------------------------------------------


def test_a_healthy_scan_has_no_problems(tmp_path):
    scan = scan_with_issued(tmp_path)
    record_request(scan, ISSUER, ISSUED)
    scan.watch(fake_host([{"type": "hello"}], []))
    scan.scan_hosts()
    scan.check_server(ISSUER, [ISSUED])
    assert scan.problems() == []
    assert scan.figures()["token_values_issued"] == 1 and scan.figures()["requests_with_tokens"] == 1


def test_a_server_whose_tokens_never_reached_the_issued_log_breaks_the_scan(tmp_path):
    scan = scan_with_issued(tmp_path)
    record_request(scan, ISSUER, ISSUED)
    scan.check_server("http://127.0.0.1:7000", ["ntn_at_" + "C" * 32, "ntn_rt_" + "D" * 32])
    (problem,) = scan.problems()
    assert "http://127.0.0.1:7000 issued 2 token(s)" in problem and "C" * 32 not in problem


def test_tokens_sent_that_nobody_logged_as_issued_break_the_scan(tmp_path):
    """The issued log's wiring broken (the server never appends): hosts still send tokens, so it shows."""
    scan = scan_with_issued(tmp_path)
    scan.issued_log.unlink()
    record_request(scan, ISSUER, ISSUED)
    (problem,) = scan.problems()
    assert "no server logged as issued" in problem
    assert scan.leaks() == {}, "without the issued set nothing can be called a leak: hence the problem"


def test_tokens_issued_but_no_request_audited_breaks_the_scan(tmp_path):
    """The request audit's wiring broken (not loaded, or the transports it patches renamed)."""
    scan = scan_with_issued(tmp_path)
    record_request(scan, ISSUER)  # requests recorded, but none carrying a token
    (problem,) = scan.problems()
    assert "no audited HTTP request carried one" in problem


def test_hosts_watched_but_no_frame_searched_breaks_the_scan(tmp_path):
    scan = scan_with_issued(tmp_path)
    record_request(scan, ISSUER, ISSUED)
    scan.watch(fake_host([], []))
    scan.scan_hosts()
    (problem,) = scan.problems()
    assert "not one frame was searched" in problem


def test_the_plugin_is_wired_into_this_run():
    """The scan these tests run under is the real one: the servers log issued tokens where it reads them, and
    the processes it starts load the request audit."""
    import os

    from tests.support import token_scan

    assert token_scan._scan is not None
    assert os.environ[token_scan.ENV] == str(token_scan._scan.issued_log)
    assert os.environ[token_scan.AUDIT_ENV] == str(token_scan._scan.audit_folder)
    assert str(token_scan.AUDIT_HOOK) in os.environ["PYTHONPATH"].split(os.pathsep)
    assert (token_scan.AUDIT_HOOK / "sitecustomize.py").exists()


def test_the_test_process_itself_is_audited(tmp_path):
    """A token a test sends by hand counts as much as one a host sends."""
    import contextlib
    import http.server
    import os

    import httpx

    from tests.support import token_scan

    assert token_scan._scan is not None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    # No token-shaped value in it: one nobody issued would (rightly) make this run's scan fail.
    with contextlib.suppress(httpx.HTTPError):
        httpx.get(origin, headers={"x-probe": "audited?"}, timeout=5)
    thread.join(5)
    server.server_close()
    mine = [r for r in token_scan._scan.requests() if r["origin"] == origin]
    assert len(mine) == 1 and mine[0]["tokens"] == []
    assert (token_scan._scan.audit_folder / f"{os.getpid()}.jsonl").exists()
