"""Every benchmark, end to end, in one run: figures beside their targets, a plot per figure.

    python -m bench.report [--quick] [--out docs/perf] [--baseline REV] [--idle-seconds S]

Runs bench.start (spawn → hello and → first SQLite answer, alternating with the code of ``--baseline``),
bench.host_overhead (first frame, tool-call latency and ratio against a direct SDK call, 32 concurrent calls, a
10 MiB result, peak RSS), bench.peer (direct SDK, mcp-remote and the bridge in front of server-everything),
bench.reconnect, bench.idle (a baseline host idling beside this one) and bench.chat_first_token; writes every
figure and raw sample to <out>/results.json and one PNG per figure to <out>; prints a summary with each figure,
its target, whether it was met, and the load average of the part that measured it. Needs the bench extra
(matplotlib) and npm (mcp-remote, server-everything). Linux (reads /proc).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from bench import chat_first_token, host_overhead, idle, peer, reconnect, start

ROOT = Path(__file__).resolve().parents[1]


def _check(value: float, target: float, *, at_most: bool = True) -> dict[str, Any]:
    return {"value": value, "target": target, "met": value <= target if at_most else value >= target}


def summarise(results: dict[str, Any]) -> dict[str, Any]:
    call = results["tool_call_round_trip_ms"]
    conc = results["concurrent_calls_per_s"]
    begin, quiet, peers = results["start"], results["idle"], results["peer"]
    quick = results["reconnect_s"]["quick_return"]
    versus = peers["bridge_vs_mcp_remote"]
    return {
        "start_first_answer_median_ms": {
            **_check(begin["first_answer_ms"]["median"], 1000),
            "baseline": begin["first_answer_ms"].get("baseline_median"),
            "load_average": begin["load_average"],
        },
        "start_hello_median_ms": {
            **_check(begin["hello_ms"]["median"], 100),
            "load_average": begin["load_average"],
        },
        "idle_host_wakeups_per_min": {
            **_check(quiet["host"]["wakeups_per_min"], 6),
            "baseline": quiet.get("baseline_host", {}).get("wakeups_per_min"),
            "load_average": quiet["load_average"],
        },
        "idle_sqlite_child_wakeups_per_min": {
            **_check(quiet["sqlite_child"]["wakeups_per_min"], 2),
            "baseline": quiet.get("baseline_sqlite_child", {}).get("wakeups_per_min"),
            "load_average": quiet["load_average"],
        },
        "idle_total_rss_mib": {
            **_check(quiet["total_rss_mib"], 120),
            "baseline": quiet.get("baseline_total_rss_mib"),
            "load_average": quiet["load_average"],
        },
        "idle_rss_growth_mib": {
            "host": quiet["host"]["rss_growth_mib"],
            "sqlite_child": quiet["sqlite_child"]["rss_growth_mib"],
            "seconds": quiet["seconds"],
        },
        "peer_median_bridge_over_mcp_remote": {
            **_check(versus["median_ratio"], 1.0),
            "load_average": peers["load_average_before"],
        },
        "peer_p95_bridge_over_mcp_remote": {
            **_check(versus["p95_ratio"], 1.0),
            "load_average": peers["load_average_before"],
        },
        "peer_throughput_bridge_over_mcp_remote": versus["throughput_ratio"],
        "reconnect_quick_return_after_scheduled_s": {
            **(
                _check(quick["sse"]["after_scheduled_median"], 0.2)
                if quick["sse"]["after_scheduled_median"] is not None
                else {}
            ),
            "http_rode_out": quick["streamable_http"]["rode_out"],
            "load_average": results["reconnect_s"]["load_average"],
        },
        "first_frame_median_ms": _check(results["first_frame_ms"]["median"], 100),
        "tool_call_added_ms": _check(call["added_median"], 0.5),
        "tool_call_ratio": {**_check(call["paired_ratio_median"], 1.10), "ratio_of_medians": call["ratio"]},
        "concurrent_ratio": {
            **_check(conc["paired_ratio_median"], 0.90, at_most=False),
            "ratio_of_medians": conc["ratio"],
            "baseline": conc.get("baseline_ratio"),
            "load_average": conc["load_average"],
        },
        "concurrent_host_cpu_over_direct_client": {
            **_check(results["concurrent_cpu_ms_per_call"]["paired_host_over_direct_median"], 1.0),
            "ratio_of_medians": results["concurrent_cpu_ms_per_call"]["host_over_direct"],
            "host_ms": results["concurrent_cpu_ms_per_call"]["host"],
            "direct_client_ms": results["concurrent_cpu_ms_per_call"]["direct_client"],
            "baseline_host_ms": results["concurrent_cpu_ms_per_call"].get("baseline_host"),
        },
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


# The last revision before the quicker start and the quieter idle: what their figures are "before".
BEFORE_START_WORK = "0583dea"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="fewer samples, for trying the scripts out")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "perf")
    parser.add_argument(
        "--baseline",
        default=BEFORE_START_WORK,
        help=f"the git revision start, idle and concurrency compare with (default {BEFORE_START_WORK}, the code "
        "before them)",
    )
    parser.add_argument("--idle-seconds", type=int, help="how long to idle (default 120; 20 with --quick)")
    args = parser.parse_args()
    quick = args.quick
    if args.baseline:
        known = subprocess.run(["git", "rev-parse", "--verify", "--quiet", args.baseline], cwd=ROOT,
                               capture_output=True, check=False)  # fmt: skip
        if known.returncode != 0:
            print(
                f"no revision {args.baseline!r} here: start and idle run without a baseline", file=sys.stderr
            )
            args.baseline = None
    started = time.monotonic()
    # Other work on the machine moves every figure; the load average says how much there was.
    load_before = os.getloadavg()
    results: dict[str, Any] = {"samples": {}}
    # Each part runs when its turn comes (and records its own load average).
    for measure in (
        lambda: start.run(starts=3 if quick else 10, baseline=args.baseline),
        lambda: host_overhead.run(
            calls=60 if quick else 300,
            spawns=5 if quick else 20,
            rounds=1 if quick else 5,
            baseline=args.baseline,
        ),
        lambda: peer.run(calls=60 if quick else 300, per_worker=5 if quick else 20, rounds=1 if quick else 3),
        lambda: reconnect.run(times=3 if quick else 10),
        lambda: idle.run(seconds=args.idle_seconds or (20 if quick else 120), baseline=args.baseline),
        lambda: chat_first_token.run(turns=10 if quick else 30),
    ):
        part = measure()
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
