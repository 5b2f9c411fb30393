"""Starting and stopping the test servers as real processes on 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_serving(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError(f"nothing is serving on 127.0.0.1:{port} after {timeout} s")


class ToyServer:
    """tests/support/toy_server.py over HTTP or SSE, restartable on the same port."""

    def __init__(
        self, mode: str, port: int | None = None, call_log: Path | None = None, event_log: Path | None = None
    ) -> None:
        self.mode = mode
        self.port = port or free_port()
        self.call_log = call_log
        self.event_log = event_log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def start(self) -> ToyServer:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        if self.call_log:
            env["TOY_CALL_LOG"] = str(self.call_log)
        if self.event_log:
            env["TOY_EVENT_LOG"] = str(self.event_log)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.toy_server", self.mode, str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.port)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def alive(self) -> bool:
        try:
            httpx.get(f"http://127.0.0.1:{self.port}/", timeout=1)
            return True
        except httpx.HTTPError:
            return False


def children_of(pid: int, needle: bytes) -> list[int]:
    """The processes whose parent is ``pid`` and whose command line holds ``needle`` (Linux: reads /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            parent = int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (proc / "cmdline").read_bytes()
        except (OSError, ValueError, IndexError):
            continue  # gone while we looked
        if parent == pid and needle in command:
            found.append(int(proc.name))
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) a process has used so far (Linux: reads /proc/<pid>/stat)."""
    fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """A process's resident memory (Linux: reads VmRSS in /proc/<pid>/status)."""
    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for {pid}")


def alive(pid: int) -> bool:
    """Whether ``pid`` is a live process (a zombie, dead but not yet reaped, counts as gone; Linux)."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
