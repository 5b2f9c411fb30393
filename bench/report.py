"""Every benchmark, end to end, in one run: figures beside their targets, a plot per figure.

    python -m bench.report [--quick] [--out docs/perf]

Runs bench.host_overhead (first frame, tool-call latency and ratio against a direct SDK call, 32 concurrent
calls, a 10 MiB result, peak RSS), bench.reconnect, bench.idle and bench.chat_first_token; writes every figure
and raw sample to <out>/results.json and one PNG per figure to <out>; prints a summary with each figure, its
target and whether it was met. Needs the bench extra (matplotlib). Linux (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

from bench import chat_first_token, host_overhead, idle, reconnect

ROOT = Path(__file__).resolve().parents[1]


def _check(value: float, target: float, *, at_most: bool = True) -> dict[str, Any]:
    return {"value": value, "target": target, "met": value <= target if at_most else value >= target}


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    call = results["tool_call_round_trip_ms"]
    conc = results["concurrent_calls_per_s"]
    return {
        "first_frame_median_ms": _check(results["first_frame_ms"]["median"], 100),
        "tool_call_added_ms": _check(call["added_median"], 0.5),
        "tool_call_ratio": _check(call["ratio"], 1.10),
        "concurrent_ratio": _check(conc["ratio"], 0.90, at_most=False),
        "ten_mib_result_s": _check(results["ten_mib_result"]["seconds"], 1.0),
        "chat_first_token_overhead_ms": _check(results["first_token_ms"]["overhead_median"], 20),
        "chat_first_token_long_conversation_overhead_ms": _check(
            results["first_token_ms"]["overhead_long_conversation_median"], 20
        ),
        "chat_stop_median_ms": results["stop_ms"]["median"],
        "reconnect_s": {
            "remote_median": results["reconnect_s"]["remote_median"],
            "stdio_median": results["reconnect_s"]["stdio_median"],
        },
        "idle": {
            "host_wakeups_per_min": results["idle"]["host"]["wakeups_per_min"],
            "host_rss_mib": results["idle"]["host"]["rss_mib_median"],
            "sqlite_child_wakeups_per_min": results["idle"]["sqlite_child"]["wakeups_per_min"],
            "sqlite_child_rss_mib": results["idle"]["sqlite_child"]["rss_mib_median"],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples, for trying the scripts out")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "perf")
    args = parser.parse_args()
    quick = args.quick
    started = time.monotonic()
    # Other work on the machine moves every figure; the load average says how much there was.
    load_before = os.getloadavg()
    results: dict[str, Any] = {"samples": {}}
    for part in (
        host_overhead.run(calls=60 if quick else 300, spawns=5 if quick else 20, rounds=1 if quick else 3),
        reconnect.run(times=3 if quick else 10),
        idle.run(seconds=20 if quick else 120),
        chat_first_token.run(turns=10 if quick else 30),
    ):
        results["samples"] |= part.pop("samples")
        results |= part
    results["machine"] = {
        "cpus": len(os.sched_getaffinity(0)),
        "system": platform.platform(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    results["seconds"] = round(time.monotonic() - started, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    from bench.plots import draw_all

    plots = draw_all(results, args.out)
    print(json.dumps({"summary": summarise(results), "seconds": results["seconds"], "machine": results["machine"],
                      "plots": [p.name for p in plots]}, indent=2))  # fmt: skip


if __name__ == "__main__":
    main()
