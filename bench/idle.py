"""What an idle host costs: wake-ups and memory while nothing is asked of it.

    python -m bench.idle [--seconds 60] [--baseline REV]   (600 s for the ten-minute growth figure, 3600 an hour)

The host runs with the built-in SQLite server connected and its heartbeat at the default period, and no
request arrives. Every second the context switches (voluntary + involuntary, of every thread, from
/proc/<pid>/task/*/status) and the resident memory of the host and of its SQLite child are read; the figures
are wake-ups per minute and RSS, side by side for the two processes, their RSS together, and the growth of
each one's RSS over the run (the median of its last minute less the median of its first; the first and last
tenth of a run shorter than five minutes). Linux only. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.baseline import exported, host_from
from bench.reconnect import _child_of
from devkit.host_process import write_config

_seen: dict[tuple[int, int], int] = {}
"""Context switches of every thread seen so far, by (pid, tid): a thread that ends keeps its count."""


def _read(pid: int) -> tuple[int, float]:
    """(context switches so far, RSS in MiB) of one process, threads included (ended ones too)."""
    rss = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        switches = 0
        try:
            for line in (task / "status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    switches += int(line.split()[1])
        except OSError:
            continue  # the thread ended just now
        _seen[(pid, int(task.name))] = switches
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) / 1024
    return sum(count for (owner, _), count in _seen.items() if owner == pid), rss


def _idle_host(stack: contextlib.ExitStack, code: Path | None) -> tuple[int, int]:
    """(host pid, SQLite child pid) of a host started with the SQLite server, connected; from ``code`` if given."""
    home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
    write_config(home, [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                         "db_path": str(home / "data" / "sample.db")}])  # fmt: skip
    host = stack.enter_context(host_from(home, code))
    host.wait_state("sqlite", "connected", timeout=60)
    return host.proc.pid, _child_of(host.proc.pid, b"host.sqlite_server")


def run(seconds: int = 60, baseline: str | None = None) -> dict:
    """With ``baseline`` (a git revision), a host running that revision's code idles beside this one, over
    the same minutes."""
    load = os.getloadavg()
    with contextlib.ExitStack() as stack:
        pids = dict(zip(("host", "sqlite_child"), _idle_host(stack, None), strict=True))
        if baseline:
            old = stack.enter_context(exported(baseline))
            pids |= dict(zip(("baseline_host", "baseline_sqlite_child"), _idle_host(stack, old), strict=True))
        time.sleep(5)  # let start-up work (imports, the first heartbeat) finish
        samples: dict[str, list[list[float]]] = {name: [] for name in pids}
        started = time.monotonic()
        while (elapsed := time.monotonic() - started) <= seconds:
            for name, pid in pids.items():
                switches, rss = _read(pid)
                samples[name].append([round(elapsed, 2), switches, round(rss, 2)])
            time.sleep(1)
    figures: dict[str, dict[str, float]] = {}
    for name, rows in samples.items():
        minutes = (rows[-1][0] - rows[0][0]) / 60
        edge = 60 if seconds >= 300 else max(len(rows) // 10, 1)
        figures[name] = {
            "wakeups_per_min": round((rows[-1][1] - rows[0][1]) / minutes, 1),
            "rss_mib_median": round(statistics.median(r[2] for r in rows), 1),
            "rss_mib_max": round(max(r[2] for r in rows), 1),
            "rss_growth_mib": round(
                statistics.median(r[2] for r in rows[-edge:]) - statistics.median(r[2] for r in rows[:edge]),
                2,
            ),
        }
    total = round(figures["host"]["rss_mib_median"] + figures["sqlite_child"]["rss_mib_median"], 1)
    extra: dict[str, float] = {}
    if baseline:
        extra["baseline_total_rss_mib"] = round(
            figures["baseline_host"]["rss_mib_median"] + figures["baseline_sqlite_child"]["rss_mib_median"], 1
        )
    return {
        "idle": {
            "seconds": seconds,
            "heartbeat_s": 15,
            "baseline": baseline,
            **figures,
            "total_rss_mib": total,
            **extra,
            "targets": {"host_wakeups_per_min": 6, "sqlite_child_wakeups_per_min": 2, "total_rss_mib": 120},
            "load_average": [round(x, 2) for x in load],
        },
        "samples": {"idle": samples},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--baseline", metavar="REV", help="idle a host of this git revision beside it")
    args = parser.parse_args()
    report = run(args.seconds, args.baseline)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    if not Path("/proc").is_dir():
        sys.exit("bench.idle reads /proc (Linux)")
    main()
