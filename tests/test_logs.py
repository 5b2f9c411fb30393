"""Host logs: one file per host process, pruned by age and count, never another running host's; doctor says
where they are; ``notion-bridge logs`` shows them newest first, or follows the newest, with secrets hidden."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from host import logs as host_logs
from notion_bridge.logs import follow, redact
from tests.support.processes import ROOT

DAY = 86_400


def touch(path: Path, age_s: float, text: str = "line\n") -> Path:
    path.write_text(text, encoding="utf-8")
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def dead_pid() -> int:
    done = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(done.stdout)


def test_two_hosts_write_two_files_and_neither_rotates_the_others(spawn_host, host_home):
    first, second = spawn_host(), spawn_host()
    for host in (first, second):
        assert host.next_event(timeout=10)["type"] == "hello"
        host.result("ping")
    files = host_logs.log_files(host_home / "logs")
    names = {path.name for path in files}
    for host in (first, second):
        assert any(name.endswith(f"-{host.proc.pid}.log") for name in names), names
    assert "host.log" not in names


def test_prune_drops_old_files_and_those_beyond_the_count_but_keeps_running_hosts(tmp_path):
    gone = dead_pid()
    old = touch(tmp_path / f"host-20260101-000000-{gone}.log", 20 * DAY)
    legacy = touch(tmp_path / "host.log.3", 30 * DAY)
    running = touch(tmp_path / f"host-20260101-000001-{os.getpid()}.log", 20 * DAY)
    recent = [touch(tmp_path / f"host-20261101-0000{i:02d}-{gone}.log", i * 60) for i in range(25)]
    unrelated = touch(tmp_path / "notes.txt", 40 * DAY)

    removed = host_logs.prune(tmp_path)

    assert old in removed and legacy in removed and not old.exists() and not legacy.exists()
    assert running.exists(), "a running host's file must stay whatever its age"
    assert sum(path.exists() for path in recent) == host_logs.KEEP_FILES
    assert all(path.exists() for path in recent[: host_logs.KEEP_FILES]), "the newest are the ones kept"
    assert unrelated.exists()


def test_redaction_hides_every_kind_of_secret():
    samples = {
        "Authorization: Bearer abc.def-ghi": "abc.def-ghi",
        "sent headers {'authorization': 'Bearer tok_123'}": "tok_123",
        "token ntn_1234567890abcdefghij in a message": "ntn_1234567890abcdefghij",
        "model key sk-proj-ABCDEFGH12345678": "sk-proj-ABCDEFGH12345678",
        '{"access_token": "at-value-1", "expires_in": 3600}': "at-value-1",
        "refresh_token=rt-value-2&grant_type=refresh_token": "rt-value-2",
        "client_secret: cs-value-3": "cs-value-3",
        "id eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl here": "eyJhbGciOiJIUzI1NiJ9",
    }
    for line, secret in samples.items():
        shown = redact(line)
        assert secret not in shown and "[redacted]" in shown, (line, shown)
    assert redact("server notion connected: 12 tools") == "server notion connected: 12 tools"


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "logs", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=30,
    )


def test_logs_shows_files_newest_first_with_secrets_hidden(tmp_path):
    folder = tmp_path / "logs"
    folder.mkdir()
    touch(folder / "host-20261101-000000-11.log", 3600, "older line\n")
    touch(folder / "host-20261102-000000-12.log", 60, "newer Authorization: Bearer s3cr3t-value\n")
    shown = cli("--home", str(tmp_path))
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.index("-12.log") < shown.stdout.index("-11.log")
    assert "s3cr3t-value" not in shown.stdout and "Authorization: [redacted]" in shown.stdout
    assert cli("--home", str(tmp_path), "--path").stdout.strip() == str(folder)


def test_logs_says_so_when_there_are_none(tmp_path):
    shown = cli("--home", str(tmp_path))
    assert shown.returncode == 0 and "no host logs yet" in shown.stdout
    assert not (tmp_path / "logs").exists(), "looking must not create the folder"


def test_follow_prints_new_lines_and_moves_to_a_newer_host(tmp_path):
    first = touch(tmp_path / "host-20261101-000000-11.log", 10, "start\n")
    out = io.StringIO()
    runner = threading.Thread(target=follow, args=(tmp_path, 10, out, 0.05, time.monotonic() + 3))
    runner.start()
    time.sleep(0.4)
    with first.open("a", encoding="utf-8") as stream:
        stream.write("refresh_token=rt-secret-9 sent\n")
    time.sleep(0.4)
    touch(tmp_path / "host-20261101-000100-12.log", 0, "second host\n")
    runner.join()
    text = out.getvalue()
    assert "start" in text and "refresh_token=[redacted] sent" in text and "rt-secret-9" not in text
    assert text.index("-11.log") < text.index("-12.log") < text.index("second host")


def test_doctor_says_where_the_logs_are(tmp_path, monkeypatch):
    from installer.doctor.logs import check_logs

    monkeypatch.setenv("NOTION_BRIDGE_HOME", str(tmp_path))
    empty = check_logs()
    (tmp_path / "logs").mkdir()
    touch(tmp_path / "logs" / "host-20261101-000000-11.log", 0)
    found = check_logs()
    assert empty.status == "ok" and str(tmp_path / "logs") in empty.detail
    assert (
        found.status == "ok"
        and "host-20261101-000000-11.log" in found.detail
        and "notion-bridge logs" in found.detail
    )
