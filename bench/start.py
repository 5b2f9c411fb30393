"""How quickly a freshly started host answers: spawn → hello, and spawn → the first SQLite answer.

    python -m bench.start [--starts 10] [--baseline REV]

Each start is what the browser does when the extension connects: a new host process, configured with the
built-in SQLite server, driven the way the popup does, so the figure is what a person who opens the popup
right after starting the browser waits for: as soon as the status says the SQLite server is connected, a
``list_tables`` call goes out; the figure is the time of its answer, counted from the spawn. Also printed: the
spawn → "connected" time, and how long ``python -X importtime`` says each process spends importing (the host
up to the first answer and the SQLite child on its own). Nothing here asserts on speed.

With ``--baseline REV`` the same starts are made, alternating one for one, with the code of git revision REV
(exported to a temporary folder; its host and its SQLite child run from there), so a change is measured
against what it changed in one run, under the same load.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.baseline import exported, host_from
from devkit.host_process import write_config

ROOT = Path(__file__).resolve().parents[1]


def _sqlite_config(home: Path) -> None:
    write_config(home, [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                         "db_path": str(home / "data" / "sample.db")}])  # fmt: skip


def one_start(home: Path, code: Path | None = None) -> dict[str, float]:
    """Milliseconds from the spawn to the hello, to "connected", and to the first tool answer. With ``code``,
    the host runs from that folder (its children inherit the working directory, so they do too)."""
    with host_from(home, code) as host:
        host.wait_state("sqlite", "connected", timeout=60)
        connected = time.perf_counter()
        host.result("tool.call", server="sqlite", tool="list_tables", arguments={}, timeout=60)
        answered = time.perf_counter()
        assert host.first_frame_at is not None
        return {
            "hello_ms": (host.first_frame_at - host.started_at) * 1000,
            "connected_ms": (connected - host.started_at) * 1000,
            "first_answer_ms": (answered - host.started_at) * 1000,
        }


def import_ms(argv: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Total and largest top-level imports of one process run with -X importtime, in milliseconds."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *argv],
        capture_output=True,
        stdin=subprocess.DEVNULL,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    top: dict[str, float] = {}
    for line in done.stderr.splitlines():
        found = re.match(r"import time:\s+\d+ \|\s+(\d+) \| (\s*)(\S+)", line)
        if found and len(found.group(2)) <= 1:  # top level: one space after the bar
            top[found.group(3)] = int(found.group(1)) / 1000
    largest = dict(sorted(top.items(), key=lambda kv: -kv[1])[:6])
    return {"total": round(sum(top.values()), 1), "largest": {k: round(v, 1) for k, v in largest.items()}}


def run(starts: int = 10, baseline: str | None = None) -> dict:
    samples: dict[str, list[float]] = {"hello_ms": [], "connected_ms": [], "first_answer_ms": []}
    before: dict[str, list[float]] = {key: [] for key in samples}
    load = os.getloadavg()
    with contextlib.ExitStack() as stack:
        old = stack.enter_context(exported(baseline)) if baseline else None
        for _ in range(starts):
            for code, into in ((None, samples), (old, before)) if old else ((None, samples),):
                with tempfile.TemporaryDirectory() as home:
                    _sqlite_config(Path(home))
                    for key, value in one_start(Path(home), code).items():
                        into[key].append(value)
    with tempfile.TemporaryDirectory() as home:
        db = Path(home) / "sample.db"
        # The child alone: its imports up to serving, with stdin at EOF so it exits at once.
        child = import_ms(["-m", "host.sqlite_server", "--db", str(db), "--create-sample"])
        host_imports = import_ms(["-c", "import host.app"])

    def figure(key: str) -> dict[str, float]:
        values = samples[key]
        shown = {"median": round(statistics.median(values), 1), "max": round(max(values), 1)}
        if before[key]:
            shown["baseline_median"] = round(statistics.median(before[key]), 1)
            shown["ratio_to_baseline"] = round(shown["median"] / shown["baseline_median"], 3)
        return shown

    return {
        "start": {
            "starts": starts,
            "baseline": baseline,
            "hello_ms": {**figure("hello_ms"), "target": 100},
            "connected_ms": figure("connected_ms"),
            "first_answer_ms": {**figure("first_answer_ms"), "target": 1000},
            "imports_ms": {"host_app": host_imports, "sqlite_child": child},
            "load_average": [round(x, 2) for x in load],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "samples": {"start_" + key: values for key, values in samples.items()}
        | {"start_baseline_" + key: values for key, values in before.items() if values},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--starts", type=int, default=10)
    parser.add_argument("--baseline", metavar="REV", help="alternate with the code of this git revision")
    args = parser.parse_args()
    report = run(args.starts, args.baseline)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
