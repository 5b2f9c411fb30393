"""The README's first command works: the demo walks through the bridge and exits 0."""

from __future__ import annotations

import subprocess
import sys


def test_demo_runs_end_to_end(tmp_path):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "notion_bridge.cli",
            "demo",
            "--home",
            str(tmp_path / "demo"),
            "--browser",
            "on",
            "--screenshots",
            str(tmp_path / "shots"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Notion · Acme Corp: connected, 14 tools" in done.stdout
    assert "SQLite (sample): connected, 3 tools" in done.stdout
    assert "★" in done.stdout
    shots = sorted(p.name for p in (tmp_path / "shots").iterdir())
    assert shots == ["1-popup.png", "2-consent.png", "3-connected.png", "4-tool-result.png"], done.stdout
