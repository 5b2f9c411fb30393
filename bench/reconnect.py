"""How long a server is gone for the person: from its death to the host reporting it connected again.

    python -m bench.reconnect [--times 10]

Side by side: the Notion-compatible server over streamable HTTP (killed, restarted on the same port after a
fixed pause, as a crashed or redeployed server would come back) and the SQLite child (killed; the host restarts
it by itself). For the remote server the figure includes the server's own start-up and the pause; both are
printed so the host's share can be read off. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

from dev_notion.testing import DevNotionProcess
from devkit.host_process import HostProcess, write_config
from tests.support.processes import children_of

PAUSE_S = 0.5


def _child_of(pid: int, needle: bytes) -> int:
    found = children_of(pid, needle)
    if not found:
        raise RuntimeError("the SQLite child is not running")
    return found[0]


def remote(times: int) -> tuple[list[float], list[float]]:
    """Kill → connected, and the server's own start-up within it, in seconds."""
    server = DevNotionProcess(auth=False).start()
    totals, startups = [], []
    try:
        with tempfile.TemporaryDirectory() as home:
            write_config(
                Path(home), [{"id": "notion", "name": "Notion", "kind": "remote", "url": server.mcp_url}]
            )
            with HostProcess(Path(home), heartbeat_s=15) as host:
                host.wait_state("notion", "connected", timeout=60)
                for _ in range(times):
                    killed = time.perf_counter()
                    server.kill()
                    host.wait_state("notion", "connecting", "error", timeout=30)
                    time.sleep(PAUSE_S)
                    started = time.perf_counter()
                    server.start()
                    startups.append(time.perf_counter() - started)
                    host.wait_state("notion", "connected", timeout=60)
                    totals.append(time.perf_counter() - killed)
    finally:
        server.kill()
    return totals, startups


def stdio(times: int) -> list[float]:
    totals = []
    with tempfile.TemporaryDirectory() as home:
        db = Path(home) / "data" / "sample.db"
        write_config(Path(home), [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                                   "db_path": str(db)}])  # fmt: skip
        with HostProcess(Path(home), heartbeat_s=15) as host:
            host.wait_state("sqlite", "connected", timeout=60)
            for _ in range(times):
                child = _child_of(host.proc.pid, b"host.sqlite_server")
                killed = time.perf_counter()
                os.kill(child, signal.SIGKILL)
                host.wait_state("sqlite", "connecting", "error", timeout=30)
                host.wait_state("sqlite", "connected", timeout=60)
                totals.append(time.perf_counter() - killed)
    return totals


def run(times: int = 10) -> dict:
    remote_totals, startups = remote(times)
    stdio_totals = stdio(times)
    return {
        "reconnect_s": {
            "remote_median": round(statistics.median(remote_totals), 3),
            "remote_max": round(max(remote_totals), 3),
            "remote_server_startup_median": round(statistics.median(startups), 3),
            "remote_pause": PAUSE_S,
            "stdio_median": round(statistics.median(stdio_totals), 3),
            "stdio_max": round(max(stdio_totals), 3),
            "times": times,
        },
        "samples": {
            "remote_reconnect_s": remote_totals,
            "remote_startup_s": startups,
            "stdio_reconnect_s": stdio_totals,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--times", type=int, default=10)
    report = run(parser.parse_args().times)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if not Path("/proc").is_dir():
        sys.exit("bench.reconnect finds the SQLite child through /proc (Linux)")
    main()
