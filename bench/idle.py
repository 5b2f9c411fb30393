"""What an idle host costs: wake-ups and memory while nothing is asked of it.

    python -m bench.idle [--seconds 60]

The host runs with the built-in SQLite server connected and its heartbeat at the default period, and no
request arrives. Every second the context switches (voluntary + involuntary, from /proc/<pid>/status) and the
resident memory of the host and of its SQLite child are read; the figures are wake-ups per minute and RSS, side
by side for the two processes. Linux only. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.reconnect import _child_of
from devkit.host_process import HostProcess, write_config


def _read(pid: int) -> tuple[int, float]:
    """(context switches so far, RSS in MiB) of one process, threads included."""
    switches, rss = 0, 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        for line in (task / "status").read_text().splitlines():
            if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                switches += int(line.split()[1])
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return switches, rss


def run(seconds: int = 60) -> dict:
    with tempfile.TemporaryDirectory() as home:
        write_config(Path(home), [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                                   "db_path": str(Path(home) / "data" / "sample.db")}])  # fmt: skip
        # The real default heartbeat: HostProcess would otherwise shorten it for tests.
        with HostProcess(Path(home), heartbeat_s=15) as host:
            host.wait_state("sqlite", "connected", timeout=60)
            child = _child_of(host.proc.pid, b"host.sqlite_server")
            time.sleep(5)  # let start-up work (imports, the first heartbeat) finish
            samples: dict[str, list[list[float]]] = {"host": [], "sqlite_child": []}
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) <= seconds:
                for name, pid in (("host", host.proc.pid), ("sqlite_child", child)):
                    switches, rss = _read(pid)
                    samples[name].append([round(elapsed, 2), switches, round(rss, 2)])
                time.sleep(1)
    figures: dict[str, dict[str, float]] = {}
    for name, rows in samples.items():
        minutes = (rows[-1][0] - rows[0][0]) / 60
        figures[name] = {
            "wakeups_per_min": round((rows[-1][1] - rows[0][1]) / minutes, 1),
            "rss_mib_median": round(statistics.median(r[2] for r in rows), 1),
            "rss_mib_max": round(max(r[2] for r in rows), 1),
        }
    return {"idle": {"seconds": seconds, "heartbeat_s": 15, **figures}, "samples": {"idle": samples}}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    report = run(parser.parse_args().seconds)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if not Path("/proc").is_dir():
        sys.exit("bench.idle reads /proc (Linux)")
    main()
