"""The README's first command works: the demo walks through the bridge and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "host.cli", "demo", "--home", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Notion · Acme Corp: connected, 8 tools" in done.stdout
    assert "SQLite (sample): connected, 3 tools" in done.stdout
    assert "★" in done.stdout
