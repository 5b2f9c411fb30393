"""Fixtures shared by the suites: a private home for each host, and hosts that are always shut down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.host_process import HostProcess, write_config

pytest_plugins = ["tests.support.token_scan"]


@pytest.fixture
def host_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "bridge-home"
    home.mkdir()
    monkeypatch.setenv("NOTION_BRIDGE_HOME", str(home))
    return home


@pytest.fixture
def spawn_host(host_home: Path) -> Iterator[Callable[..., HostProcess]]:
    """Start hosts against ``host_home``; ``servers=[...]`` writes the configuration first."""
    started: list[HostProcess] = []

    def spawn(servers: list[dict[str, Any]] | None = None, **kwargs: Any) -> HostProcess:
        if servers is not None:
            write_config(host_home, servers)
        host = HostProcess(host_home, **kwargs)
        started.append(host)
        return host

    yield spawn
    for host in started:
        host.__exit__()
