"""One PNG per figure of the performance report, each with the direct path beside the host where there is one
and the target as a line. Measuring lives in the bench modules; this only draws what they returned."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display needed
import matplotlib.pyplot as plt

HOST, DIRECT, TARGET, BASELINE = "#2f6fdf", "#9a9a9a", "#d33a2c", "#e0a030"


def _save(fig: Any, folder: Path, name: str) -> Path:
    path = folder / f"{name}.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _target(ax: Any, value: float, label: str, *, horizontal: bool = True) -> None:
    (ax.axhline if horizontal else ax.axvline)(
        value, color=TARGET, linestyle="--", linewidth=1.2, label=label
    )


def _boxes(ax: Any, data: list[list[float]], labels: list[str]) -> None:
    parts = ax.boxplot(data, tick_labels=labels, showfliers=False, patch_artist=True, widths=0.5)
    for patch, color in zip(parts["boxes"], [DIRECT, HOST], strict=False):
        patch.set_facecolor(color)
        patch.set_alpha(0.6)


def draw_all(results: dict[str, Any], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    s = results["samples"]
    made = []

    fig, ax = plt.subplots(figsize=(6, 3.6))
    ax.hist(s["first_frame_ms"], bins=15, color=HOST, alpha=0.8, label="host start → first frame")
    _target(ax, 100, "target ≤ 100 ms", horizontal=False)
    ax.set(xlabel="ms", ylabel="starts", title="First frame after the browser starts the host")
    ax.legend()
    made.append(_save(fig, folder, "first_frame"))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    _boxes(ax, [s["direct_call_ms"], s["host_call_ms"]], ["direct SDK call", "through the host"])
    overhead = results["tool_call_round_trip_ms"]
    ax.set(
        ylabel="ms per call",
        title=f"Tool call round trip: +{overhead['added_median']} ms, ratio {overhead['paired_ratio_median']} (median of rounds)",
    )
    _target(ax, overhead["direct_median"] * 1.10, "target: 1.10 x direct")
    ax.legend()
    made.append(_save(fig, folder, "tool_call_latency"))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    rounds = range(1, len(s["direct_calls_per_s"]) + 1)
    width = 0.38
    ax.bar([r - width / 2 for r in rounds], s["direct_calls_per_s"], width, color=DIRECT, label="direct")
    ax.bar(
        [r + width / 2 for r in rounds], s["host_calls_per_s"], width, color=HOST, label="through the host"
    )
    if s.get("baseline_host_calls_per_s"):
        ax.plot(
            list(rounds),
            s["baseline_host_calls_per_s"],
            "o",
            color=BASELINE,
            label=f"through the host, before ({results['concurrent_calls_per_s']['baseline']})",
        )
    ax.plot([r + width / 2 for r in rounds], [d * 0.90 for d in s["direct_calls_per_s"]], "_", color=TARGET,
            markersize=22, markeredgewidth=2, label="target: 0.90 x direct")  # fmt: skip
    conc = results["concurrent_calls_per_s"]
    ax.set(xlabel="round", ylabel="calls / s", xticks=list(rounds),
           title=f"{conc['concurrency']} concurrent calls: ratio {conc['paired_ratio_median']} (median of rounds)")  # fmt: skip
    ax.legend(loc="lower right")
    made.append(_save(fig, folder, "concurrency"))

    fig, ax = plt.subplots(figsize=(6, 3.2))
    big = results["ten_mib_result"]
    ax.barh(["10 MiB result"], [big["seconds"]], color=HOST)
    _target(ax, big["target_s"], "target ≤ 1 s", horizontal=False)
    ax.set(
        xlabel="seconds",
        title=f"A 10 MiB tool result through the host (peak RSS {big['host_peak_rss_mib']} MiB)",
    )
    ax.legend()
    made.append(_save(fig, folder, "large_result"))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    data = [s["remote_reconnect_s"], s["stdio_reconnect_s"]]
    parts = ax.boxplot(
        data, tick_labels=["remote (HTTP), incl. server restart", "SQLite child"], patch_artist=True
    )
    for patch in parts["boxes"]:
        patch.set_facecolor(HOST)
        patch.set_alpha(0.6)
    ax.axhline(results["reconnect_s"]["remote_server_startup_median"] + results["reconnect_s"]["remote_pause"],
               color=DIRECT, linestyle=":", label="remote server's own pause + start-up")  # fmt: skip
    ax.set(ylabel="seconds from kill to connected", title="Reconnect after a server dies")
    ax.legend()
    made.append(_save(fig, folder, "reconnect"))

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    for name, color in (("host", HOST), ("sqlite_child", DIRECT)):
        for prefix, style in (("", "-"), ("baseline_", ":")):
            rows = s["idle"].get(prefix + name)
            if not rows:
                continue
            t = [r[0] for r in rows]
            label = (prefix + name).replace("_", " ")
            left.plot(t, [r[1] - rows[0][1] for r in rows], style, color=color, label=label)
            right.plot(t, [r[2] for r in rows], style, color=color, label=label)
    left.set(xlabel="seconds idle", ylabel="context switches since start", title="Idle wake-ups")
    right.set(xlabel="seconds idle", ylabel="RSS (MiB)", title="Idle memory")
    left.legend()
    right.legend()
    made.append(_save(fig, folder, "idle"))

    fig, ax = plt.subplots(figsize=(6, 3.6))
    samples = [s["direct_first_token_ms"], s["host_first_token_ms"]]
    labels = ["model → direct client", "model → host → extension"]
    if "host_long_conversation_first_token_ms" in s:
        samples += [s["direct_long_conversation_first_token_ms"], s["host_long_conversation_first_token_ms"]]
        labels += ["long chat, 4K model: direct", "long chat, 4K model: host"]
    _boxes(ax, samples, labels)
    chat = results["first_token_ms"]
    _target(ax, chat["direct_median"] + 20, "target: direct + 20 ms")
    ax.set(ylabel="ms to first token", title=f"Chat first token: overhead {chat['overhead_median']} ms")
    ax.legend()
    made.append(_save(fig, folder, "chat_first_token"))

    if "start_first_answer_ms" in s:
        fig, ax = plt.subplots(figsize=(6, 3.6))
        data, labels = [], []
        if "start_baseline_first_answer_ms" in s:
            data.append(s["start_baseline_first_answer_ms"])
            labels.append(f"before ({results['start']['baseline']})")
        data.append(s["start_first_answer_ms"])
        labels.append("now")
        _boxes(ax, data, labels)
        _target(ax, 1000, "target ≤ 1000 ms")
        ax.set(ylabel="ms from spawn", title="Host start → first SQLite answer")
        ax.legend()
        made.append(_save(fig, folder, "start"))

    if "peer_bridge_ms" in s:
        fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
        paths = ["direct", "mcp-remote", "bridge"]
        parts = left.boxplot([s[f"peer_{p}_ms"] for p in paths], tick_labels=paths, showfliers=False,
                             patch_artist=True, widths=0.5)  # fmt: skip
        for patch, color in zip(parts["boxes"], [DIRECT, "#e0a030", HOST], strict=True):
            patch.set_facecolor(color)
            patch.set_alpha(0.6)
        left.set(ylabel="ms per call", title="Per call, server-everything over HTTP")
        right.bar(
            paths, [results["peer"][p]["calls_per_s_32"] for p in paths], color=[DIRECT, "#e0a030", HOST]
        )
        right.set(ylabel="calls / s (median of rounds)", title="32 concurrent calls")
        made.append(_save(fig, folder, "peer"))
    return made
