"""How long a server is gone for the person: from its death to the host reporting it connected again.

    python -m bench.reconnect [--times 10]

Side by side: the Notion-compatible server over streamable HTTP (killed, restarted on the same port after a
fixed pause, as a crashed or redeployed server would come back) and the SQLite child (killed; the host restarts
it by itself). For the remote server the figure includes the server's own start-up and the pause; both are
printed so the host's share can be read off.

And the host's own share alone ("quick return"): a server that is back within 100 ms of dropping, with no
start-up of its own to count. The host reaches the toy server through a TCP relay in this process; dropping
closes every connection and the listening socket, and 100 ms later the relay listens again on the same port.
When the host notices (over SSE, whose stream the drop cuts), the figure is how long after the attempt it
scheduled (the ``retry_at`` of its ``error`` status) it says ``connected`` again; the goal is 200 ms. Over
streamable HTTP a 100 ms drop may go unnoticed: a call made at once after the return is then answered on the
same session, and the figure is that answer's time after the drop. Nothing here asserts on speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from dev_notion.testing import DevNotionProcess
from devkit.host_process import HostProcess, write_config
from tests.support.processes import ToyServer, children_of, free_port

PAUSE_S = 0.5
#: How long the relay stays away in the quick-return measurement.
QUICK_PAUSE_S = 0.1


class DroppingRelay:
    """A TCP relay to ``target_port`` on its own event loop thread, which can drop everything and come back."""

    def __init__(self, target_port: int) -> None:
        self.port = free_port()
        self.target_port = target_port
        self.loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        threading.Thread(target=self.loop.run_forever, name="relay", daemon=True).start()
        self._run(self._listen())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", self.port, reuse_address=True)

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    async def _drop(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()
        await self._server.wait_closed()

    def drop(self) -> None:
        self._run(self._drop())

    def come_back(self) -> None:
        self._run(self._listen())

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._run(self._drop())
        self.loop.call_soon_threadsafe(self.loop.stop)


def quick_return(times: int, mode: str = "http") -> dict[str, Any]:
    """Per drop: either the host noticed (``error``, then ``connected``: seconds from its scheduled attempt to
    "connected", and from the drop), or the session rode it out (seconds from the drop to the answer of a call
    made at once after the return)."""
    server = ToyServer(mode).start()
    relay = DroppingRelay(server.port)
    late: list[float] = []
    totals: list[float] = []
    rode_out: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as home:
            write_config(Path(home), [{"id": "toy", "name": "Toy", "kind": "remote", "url": relay.url}])
            with HostProcess(Path(home), heartbeat_s=15) as host:
                host.wait_state("toy", "connected", timeout=60)
                for _ in range(times):
                    mark = len(host.frames)
                    dropped = time.time()
                    relay.drop()
                    time.sleep(QUICK_PAUSE_S)
                    relay.come_back()
                    # A call at once, as a person would make one; then what the host went through meanwhile.
                    reply = host.request("tool.call", server="toy", tool="echo", arguments={"text": "back"})
                    answered = time.time()
                    failures = [
                        entry
                        for frame in host.frames[mark:]
                        if frame.get("type") == "status"
                        for entry in frame["servers"]
                        if entry["id"] == "toy" and entry["state"] == "error"
                    ]
                    if reply.get("ok") and not failures:
                        rode_out.append(answered - dropped)
                    else:
                        if not failures:
                            failures = [host.wait_state("toy", "error", timeout=60)]
                        host.wait_state("toy", "connected", timeout=60)
                        back = time.time()
                        late.append(back - failures[-1]["retry_at"])
                        totals.append(back - dropped)
                    time.sleep(1)  # settled before the next drop
    finally:
        relay.close()
        server.kill()
    return {"after_scheduled_s": late, "total_s": totals, "rode_out_s": rode_out}


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
    load = os.getloadavg()
    quick = {mode: quick_return(times, mode) for mode in ("http", "sse")}
    remote_totals, startups = remote(times)
    stdio_totals = stdio(times)

    def median(values: list[float]) -> float | None:
        return round(statistics.median(values), 3) if values else None

    def summary(found: dict[str, Any]) -> dict[str, Any]:
        return {
            "drops": times,
            "noticed": len(found["after_scheduled_s"]),
            "after_scheduled_median": median(found["after_scheduled_s"]),
            "after_scheduled_max": round(max(found["after_scheduled_s"]), 3)
            if found["after_scheduled_s"]
            else None,
            "noticed_total_median": median(found["total_s"]),
            "rode_out": len(found["rode_out_s"]),
            "rode_out_answer_after_drop_median": median(found["rode_out_s"]),
        }

    return {
        "reconnect_s": {
            "quick_return": {
                "pause": QUICK_PAUSE_S,
                "target_after_scheduled": 0.2,
                "streamable_http": summary(quick["http"]),
                "sse": summary(quick["sse"]),
            },
            "remote_median": round(statistics.median(remote_totals), 3),
            "remote_max": round(max(remote_totals), 3),
            "remote_server_startup_median": round(statistics.median(startups), 3),
            "remote_pause": PAUSE_S,
            "stdio_median": round(statistics.median(stdio_totals), 3),
            "stdio_max": round(max(stdio_totals), 3),
            "times": times,
            "load_average": [round(x, 2) for x in load],
        },
        "samples": {
            "quick_return_sse_after_scheduled_s": quick["sse"]["after_scheduled_s"],
            "quick_return_http_rode_out_s": quick["http"]["rode_out_s"],
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
