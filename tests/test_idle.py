"""An idle host and its SQLite child stay the size they are, with the heartbeat running all the while.

Ten minutes in CI (``NOTION_BRIDGE_IDLE_S``), beside the main suite since it only waits. The heartbeat is
shortened to 1 s so those minutes hold 600 heartbeats to a remote server and 30 pings to the child (the child
is pinged every 20th heartbeat): a leak per heartbeat shows fifteen times sooner than at the real 15 s. Wake-ups
per minute, and the hour at the real heartbeat, are bench/idle.py's (docs/reliability.md §5).
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import pytest

from devkit.host_process import HostProcess, write_config
from tests.support import knobs
from tests.support.processes import ToyServer, children_of, rss_bytes

#: Growth allowed from the first minute after warming up to the last, MiB: above the allocator's own noise
#: (a few hundred KiB), well under what 600 heartbeats leaking even 4 KiB each would add (2.3 MiB).
HOST_GROWTH_MIB = 1.5
CHILD_GROWTH_MIB = 1.0
WARM_UP_S = 30
SAMPLE_EVERY_S = 2


@pytest.mark.timeout(float(knobs.IDLE_S) + WARM_UP_S + 240)
def test_an_idle_host_and_its_sqlite_child_do_not_grow(tmp_path: Path) -> None:
    idle_s = knobs.IDLE_S
    idle_s.check()
    server = ToyServer("http").start()
    try:
        write_config(tmp_path, [
            {"id": "toy", "name": "Toy", "kind": "remote", "url": server.url},
            {"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
             "db_path": str(tmp_path / "data" / "sample.db")},
        ])  # fmt: skip
        with HostProcess(tmp_path, heartbeat_s=1) as host:
            host.wait_state("toy", "connected")
            host.wait_state("sqlite", "connected", timeout=60)
            # Each path used once, so what a first call sets up is there before the first sample.
            host.result("tool.call", server="toy", tool="echo", arguments={"text": "warm"})
            host.result("tool.call", server="sqlite", tool="list_tables", arguments={})
            (child,) = children_of(host.proc.pid, b"host.sqlite_server")
            time.sleep(WARM_UP_S)
            samples: list[tuple[float, float, float]] = []
            started = time.monotonic()
            while (elapsed := time.monotonic() - started) < float(idle_s):
                samples.append((elapsed, rss_bytes(host.proc.pid) / 2**20, rss_bytes(child) / 2**20))
                time.sleep(SAMPLE_EVERY_S)
            # Still connected: the heartbeat ran (and found both alive) for the whole time.
            assert host.server("toy")["state"] == "connected"
            assert host.server("sqlite")["state"] == "connected"
            assert host.result("tool.call", server="toy", tool="echo", arguments={"text": "after"})
    finally:
        server.kill()
    window = min(60.0, float(idle_s) / 4)
    first = [s for s in samples if s[0] < window]
    last = [s for s in samples if s[0] >= samples[-1][0] - window]
    growth = [statistics.median(s[i] for s in last) - statistics.median(s[i] for s in first) for i in (1, 2)]
    print(
        f"\nidle {float(idle_s):g} s at a 1 s heartbeat: host {statistics.median(s[1] for s in first):.1f} MiB, "
        f"grew {growth[0]:+.2f} MiB; SQLite child {statistics.median(s[2] for s in first):.1f} MiB, "
        f"grew {growth[1]:+.2f} MiB ({len(samples)} samples)"
    )
    assert growth[0] <= HOST_GROWTH_MIB, f"the idle host grew {growth[0]:.2f} MiB in {float(idle_s):g} s"
    assert growth[1] <= CHILD_GROWTH_MIB, (
        f"the idle SQLite child grew {growth[1]:.2f} MiB in {float(idle_s):g} s"
    )
