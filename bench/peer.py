"""The bridge beside the peer people would use instead: mcp-remote, the npm proxy that puts a remote MCP server
on a local stdio port, in front of the same server.

    python -m bench.peer [--calls 300] [--per-worker 20] [--rounds 3]

The server is @modelcontextprotocol/server-everything over streamable HTTP (the version the tests use,
tests/support/everything.py); its ``echo`` tool is called. Three paths, in one run, alternating round by round
so that whatever else the machine does hits them alike:

- **direct**: the Python MCP SDK's client straight to the server's URL;
- **mcp-remote**: the same client over stdio to mcp-remote (installed from npm into .cache/npm-bench by this
  script), which speaks streamable HTTP to the server;
- **bridge**: the host, driven by native-messaging frames as Chrome drives it, with the server configured as a
  remote server.

Printed: median and p95 per call, and calls per second with 32 concurrent callers, per path; the bridge's
ratios to mcp-remote and to direct; the load average before and after. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.host_overhead import CONCURRENCY, Port, host_sequential
from devkit.host_process import write_config
from tests.support.everything import EverythingServer, node
from tests.support.processes import ROOT

MCP_REMOTE = "mcp-remote"
#: The version measured; bump it deliberately, as the tests do with server-everything.
MCP_REMOTE_VERSION = "0.15.1"
CACHE = Path(os.environ.get("NOTION_BRIDGE_BENCH_NPM_CACHE") or ROOT / ".cache" / "npm-bench")
TOOL, ARGUMENT = "echo", "message"


def mcp_remote_script() -> Path:
    """mcp-remote's proxy.js, installed from npm the first time."""
    package = CACHE / "node_modules" / MCP_REMOTE
    script = package / "dist" / "proxy.js"
    manifest = package / "package.json"
    if not script.exists() or f'"version": "{MCP_REMOTE_VERSION}"' not in manifest.read_text(
        encoding="utf-8"
    ):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is needed to install mcp-remote for this comparison")
        CACHE.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(CACHE), "--no-audit", "--no-fund", "--no-save",
             f"{MCP_REMOTE}@{MCP_REMOTE_VERSION}"],
            capture_output=True, text=True, timeout=600, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"npm could not install {MCP_REMOTE}: {done.stderr.strip()[-2000:]}")
    return script


def _client(url: str, path: str, config_dir: str) -> Any:
    from mcp import Client, StdioServerParameters

    if path == "direct":
        return Client(url)
    # It logs every message it relays to stderr; that goes to /dev/null rather than into the report's output.
    params = StdioServerParameters(
        command="/bin/sh",
        args=[
            "-c",
            'exec "$0" "$@" 2>/dev/null',
            node(),
            str(mcp_remote_script()),
            url,
            "--transport",
            "http-only",
            "--allow-http",
        ],
        # Its token cache goes to a folder of this run's, never the person's ~/.mcp-auth.
        env={"MCP_REMOTE_CONFIG_DIR": config_dir},
    )
    return Client(params)


async def sdk_sequential(url: str, path: str, calls: int, config_dir: str) -> list[float]:
    async with _client(url, path, config_dir) as client:
        for _ in range(20):
            await client.call_tool(TOOL, {ARGUMENT: "warm"})
        times = []
        for i in range(calls):
            started = time.perf_counter()
            result = await client.call_tool(TOOL, {ARGUMENT: f"call {i}"})
            times.append((time.perf_counter() - started) * 1000)
            assert not result.is_error, result
        return times


async def sdk_concurrent(url: str, path: str, per_worker: int, config_dir: str) -> float:
    async with _client(url, path, config_dir) as client:
        await client.call_tool(TOOL, {ARGUMENT: "warm"})

        async def worker(n: int) -> None:
            for i in range(per_worker):
                await client.call_tool(TOOL, {ARGUMENT: f"{n}-{i}"})

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        return CONCURRENCY * per_worker / (time.perf_counter() - started)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def run(calls: int = 300, per_worker: int = 20, rounds: int = 3) -> dict:
    mcp_remote_script()  # installed before anything is timed
    load_before = os.getloadavg()
    paths = ("direct", "mcp-remote", "bridge")
    times: dict[str, list[float]] = {p: [] for p in paths}
    rates: dict[str, list[float]] = {p: [] for p in paths}
    with EverythingServer("http") as server, tempfile.TemporaryDirectory() as home:
        config_dir = str(Path(home) / "mcp-remote")
        write_config(
            Path(home), [{"id": "everything", "name": "Everything", "kind": "remote", "url": server.url}]
        )
        with Port(Path(home), "everything", TOOL, ARGUMENT) as port:
            for _ in range(rounds):
                for path in paths:
                    if path == "bridge":
                        times[path] += host_sequential(Path(home), calls, "everything", TOOL, ARGUMENT)
                    else:
                        times[path] += asyncio.run(sdk_sequential(server.url, path, calls, config_dir))
                for path in paths:
                    if path == "bridge":
                        rates[path].append(port.concurrent(per_worker)[0])
                    else:
                        rates[path].append(
                            asyncio.run(sdk_concurrent(server.url, path, per_worker, config_dir))
                        )
    figures: dict[str, Any] = {
        path: {
            "median_ms": round(statistics.median(times[path]), 3),
            "p95_ms": round(_p95(times[path]), 3),
            "calls_per_s_32": round(statistics.median(rates[path]), 1),
        }
        for path in paths
    }
    bridge, peer, direct = figures["bridge"], figures["mcp-remote"], figures["direct"]
    return {
        "peer": {
            **figures,
            "bridge_vs_mcp_remote": {
                "median_ratio": round(bridge["median_ms"] / peer["median_ms"], 3),
                "p95_ratio": round(bridge["p95_ms"] / peer["p95_ms"], 3),
                "throughput_ratio": round(bridge["calls_per_s_32"] / peer["calls_per_s_32"], 3),
                "target": "median and p95 ratios <= 1.0",
            },
            "bridge_vs_direct": {
                "median_ratio": round(bridge["median_ms"] / direct["median_ms"], 3),
                "throughput_ratio": round(bridge["calls_per_s_32"] / direct["calls_per_s_32"], 3),
            },
            "calls_per_path": len(times["bridge"]),
            "rounds": rounds,
            "concurrency": CONCURRENCY,
            "mcp_remote": MCP_REMOTE_VERSION,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "samples": {f"peer_{path}_ms": times[path] for path in paths}
        | {f"peer_{path}_calls_per_s": rates[path] for path in paths},
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--per-worker", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    report = run(args.calls, args.per_worker, args.rounds)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
