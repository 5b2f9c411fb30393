"""What the host costs on top of talking to an MCP server directly, side by side in one run.

    python -m bench.host_overhead [--calls 150] [--spawns 20] [--rounds 10] [--baseline REV]

Prints one JSON object: start-up (spawn -> first frame), tool-call round trip through the host vs a direct SDK
client to the same local server (medians, added latency, ratio), 32 concurrent calls through one port vs
direct (throughput, ratio, CPU per call of the host and of the direct client), a 10 MiB result's time, and the host's peak RSS. Targets from the issue are
printed beside each figure; nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import resource
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.baseline import exported, host_from
from devkit.host_process import ORIGIN, HostProcess, write_config
from tests.support.processes import ToyServer, cpu_seconds

CONCURRENCY = 32


def peak_rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def measure_first_frame(spawns: int) -> list[float]:
    times = []
    for _ in range(spawns):
        with tempfile.TemporaryDirectory() as home:
            write_config(Path(home), [])
            host = HostProcess(Path(home))
            deadline = time.monotonic() + 10
            while host.first_frame_at is None and time.monotonic() < deadline:
                time.sleep(0.001)
            assert host.first_frame_at is not None
            times.append((host.first_frame_at - host.started_at) * 1000)
            host.close()
    return times


async def direct_sequential(url: str, calls: int) -> list[float]:
    from mcp import Client

    async with Client(url) as client:
        for _ in range(20):
            await client.call_tool("echo", {"text": "warm"})
        times = []
        for i in range(calls):
            started = time.perf_counter()
            await client.call_tool("echo", {"text": f"call {i}"})
            times.append((time.perf_counter() - started) * 1000)
        return times


async def direct_concurrent(url: str, per_worker: int) -> float:
    from mcp import Client

    async with Client(url) as client:
        await client.call_tool("echo", {"text": "warm"})

        async def worker(n: int) -> None:
            for i in range(per_worker):
                await client.call_tool("echo", {"text": f"{n}-{i}"})

        started = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in range(CONCURRENCY)))
        return CONCURRENCY * per_worker / (time.perf_counter() - started)


class Port:
    """A host driven through its pipes by one thread, the way Chrome's own C++ port reads and writes: no
    reader thread, queue or event loop in the measuring process to add work of its own on the same cores.
    Started from ``code`` (a folder holding another revision's tree) if given; ``server`` is connected
    before the constructor returns. Calls go to ``tool`` with its one string ``argument``."""

    def __init__(
        self,
        home: Path,
        server: str = "toy",
        tool: str = "echo",
        argument: str = "text",
        code: Path | None = None,
    ) -> None:
        self.server, self.tool, self.argument = server, tool, argument
        env = {**os.environ, "NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_HEARTBEAT_S": "15",
               "NOTION_BRIDGE_TOKEN_STORE": "file", **({"PYTHONPATH": str(code)} if code else {})}  # fmt: skip
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host", ORIGIN],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            cwd=code,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._out, self._in = self.proc.stdout, self.proc.stdin
        self._ids = itertools.count()
        while True:
            message = self._read()
            if message["type"] == "status" and any(
                s["id"] == server and s["state"] == "connected" for s in message["servers"]
            ):
                break

    def _read(self) -> dict:
        (length,) = struct.unpack("=I", self._out.read(4))
        return json.loads(self._out.read(length))

    def _send_call(self, text: str) -> str:
        request_id = f"c{next(self._ids)}"
        body = json.dumps({"type": "tool.call", "id": request_id, "server": self.server, "tool": self.tool,
                           "arguments": {self.argument: text}}).encode()  # fmt: skip
        self._in.write(struct.pack("=I", len(body)) + body)
        self._in.flush()
        return request_id

    def _reply(self) -> dict:
        """The next reply (events are skipped); a failed call fails the bench."""
        while True:
            message = self._read()
            if message["type"] == "reply":
                assert message["ok"], message
                return message

    def call(self, text: str) -> None:
        request_id = self._send_call(text)
        assert self._reply()["id"] == request_id

    def concurrent(self, per_worker: int) -> tuple[float, float]:
        """(calls per second, host CPU milliseconds per call): CONCURRENCY workers, each sending its next call
        when its last is answered, as the direct workers do over one client."""
        left: dict[str, int] = {}
        cpu_before = cpu_seconds(self.proc.pid)
        started = time.perf_counter()
        for n in range(CONCURRENCY):
            left[self._send_call(f"{n}-0")] = per_worker - 1
        while left:
            remaining = left.pop(self._reply()["id"])
            if remaining:
                left[self._send_call(f"more-{remaining}")] = remaining - 1
        seconds = time.perf_counter() - started
        calls = CONCURRENCY * per_worker
        return calls / seconds, (cpu_seconds(self.proc.pid) - cpu_before) * 1000 / calls

    def close(self) -> None:
        self._in.close()
        self.proc.wait(10)

    def __enter__(self) -> Port:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def host_sequential(
    home: Path,
    calls: int,
    server: str = "toy",
    tool: str = "echo",
    argument: str = "text",
) -> list[float]:
    """Milliseconds per round trip, one call at a time, through a host of its own."""
    with Port(home, server, tool, argument) as port:
        for _ in range(20):
            port.call("warm")
        times = []
        for i in range(calls):
            started = time.perf_counter()
            port.call(f"call {i}")
            times.append((time.perf_counter() - started) * 1000)
    return times


def own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _paired(ratios: list[float]) -> float:
    """The median of per-round ratios. Each round measures both sides back to back, so a slow spell of the
    machine (single rounds here vary by a third) moves both sides of a ratio, not one side of a median."""
    return round(statistics.median(ratios), 3)


def run(
    calls: int = 150, spawns: int = 20, per_worker: int = 20, rounds: int = 10, baseline: str | None = None
) -> dict:
    """The figures, with the raw samples under "samples" for plotting. With ``baseline`` (a git revision), a
    host running that revision's code takes its turn in the concurrent rounds too, driven the same way."""
    load = os.getloadavg()
    first_frames = measure_first_frame(spawns)

    server = ToyServer("http").start()
    direct_times: list[float] = []
    host_times: list[float] = []
    direct_rates: list[float] = []
    host_rates: list[float] = []
    old_rates: list[float] = []
    direct_cpu: list[float] = []
    host_cpu: list[float] = []
    old_cpu: list[float] = []
    call_ratios: list[float] = []
    try:
        with contextlib.ExitStack() as stack:
            home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
            # The toy server sends a text result twice (as text and as structured content): 10 MiB of text is
            # a 20 MiB message, over the default 16 MiB bound on one message.
            write_config(home, [{"id": "toy", "name": "Toy", "kind": "remote", "url": server.url}],
                         limits={"max_event_mib": 32})  # fmt: skip
            host = stack.enter_context(host_from(home, None))
            host.wait_state("toy", "connected")
            port = stack.enter_context(Port(home))
            old_port = None
            if baseline:
                old_home = Path(stack.enter_context(tempfile.TemporaryDirectory()))
                write_config(old_home, [{"id": "toy", "name": "Toy", "kind": "remote", "url": server.url}])
                old_port = stack.enter_context(Port(old_home, code=stack.enter_context(exported(baseline))))
            # Alternate the paths so that whatever else the machine does hits them alike.
            for _ in range(rounds):
                direct_round = asyncio.run(direct_sequential(server.url, calls))
                host_round = host_sequential(home, calls)
                direct_times += direct_round
                host_times += host_round
                call_ratios.append(statistics.median(host_round) / statistics.median(direct_round))
                # The direct client runs in this process; nothing else here works meanwhile.
                before = own_cpu_s()
                direct_rates.append(asyncio.run(direct_concurrent(server.url, per_worker)))
                direct_cpu.append((own_cpu_s() - before) * 1000 / (CONCURRENCY * per_worker))
                rate, cpu = port.concurrent(per_worker)
                host_rates.append(rate)
                host_cpu.append(cpu)
                if old_port is not None:
                    rate, cpu = old_port.concurrent(per_worker)
                    old_rates.append(rate)
                    old_cpu.append(cpu)
            started = time.perf_counter()
            big = host.result("tool.call", server="toy", tool="big", arguments={"mib": 10}, timeout=60)
            big_s = time.perf_counter() - started
            assert len(big["content"][0]["text"]) == 10 * 1024 * 1024
            rss = peak_rss_mib(host.proc.pid)
    finally:
        server.kill()
    direct_rate = statistics.median(direct_rates)
    host_rate = statistics.median(host_rates)

    direct_median = statistics.median(direct_times)
    host_median = statistics.median(host_times)
    return {
        "first_frame_ms": {
            "median": round(statistics.median(first_frames), 1),
            "max": round(max(first_frames), 1),
            "samples": len(first_frames),
            "target_ms": 100,
        },
        "tool_call_round_trip_ms": {
            "direct_median": round(direct_median, 3),
            "host_median": round(host_median, 3),
            "added_median": round(host_median - direct_median, 3),
            "ratio": round(host_median / direct_median, 3),
            "paired_ratio_median": _paired(call_ratios),
            "calls": len(host_times),
            "target": {"added_ms": 0.5, "ratio": 1.10},
        },
        "concurrent_calls_per_s": {
            "concurrency": CONCURRENCY,
            "direct": round(direct_rate, 1),
            "host": round(host_rate, 1),
            "ratio": round(host_rate / direct_rate, 3),
            "paired_ratio_median": _paired([h / d for h, d in zip(host_rates, direct_rates, strict=True)]),
            "rounds": rounds,
            "target_ratio": 0.90,
            "load_average": [round(x, 2) for x in load],
            **(
                {
                    "baseline": baseline,
                    "baseline_host": round(statistics.median(old_rates), 1),
                    "baseline_ratio": round(statistics.median(old_rates) / direct_rate, 3),
                }
                if old_rates
                else {}
            ),
        },
        "concurrent_cpu_ms_per_call": {
            "direct_client": round(statistics.median(direct_cpu), 3),
            "host": round(statistics.median(host_cpu), 3),
            "host_over_direct": round(statistics.median(host_cpu) / statistics.median(direct_cpu), 3),
            "paired_host_over_direct_median": _paired(
                [h / d for h, d in zip(host_cpu, direct_cpu, strict=True)]
            ),
            **({"baseline_host": round(statistics.median(old_cpu), 3)} if old_cpu else {}),
            "target": "host below the direct client",
        },
        "ten_mib_result": {"seconds": round(big_s, 3), "target_s": 1.0, "host_peak_rss_mib": rss},
        "python": sys.version.split()[0],
        "load_average": [round(x, 2) for x in load],
        "samples": {
            "first_frame_ms": first_frames,
            "direct_call_ms": direct_times,
            "host_call_ms": host_times,
            "direct_calls_per_s": direct_rates,
            "host_calls_per_s": host_rates,
            "host_over_direct_per_round": {
                "one_call": call_ratios,
                "throughput": [h / d for h, d in zip(host_rates, direct_rates, strict=True)],
                "cpu_per_call": [h / d for h, d in zip(host_cpu, direct_cpu, strict=True)],
            },
            "baseline_host_calls_per_s": old_rates,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=150, help="one-at-a-time calls per round")
    parser.add_argument("--spawns", type=int, default=20)
    parser.add_argument("--per-worker", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--baseline", metavar="REV", help="a host of this git revision takes its turn too")
    args = parser.parse_args()
    report = run(args.calls, args.spawns, args.per_worker, args.rounds, args.baseline)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
