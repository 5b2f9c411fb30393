"""Fixtures shared by the suites: a private home for each host, and hosts that are always shut down."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
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


@dataclass
class Product:
    """One Chromium with the extension installed as a person would have it, shared by the browser suites that
    only look (accessibility, screenshots): the Notion-compatible server with sign-in (its entry disabled at
    first) and the sample SQLite database (writes allowed, so a chat's write waits for approval), no chat model until a test sets one up."""

    driver: Any
    notion: Any
    home: Path
    profile: Path


@pytest.fixture(scope="session")
def product(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Product]:
    from dev_notion.testing import DevNotionProcess
    from devkit.browser import chromium, install_host

    tmp = tmp_path_factory.mktemp("product")
    profile, home = tmp / "profile", tmp / "home"
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        write_config(home, [
            {"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "enabled": False},
            {"id": "sqlite", "name": "SQLite (sample)", "kind": "stdio", "builtin": "sqlite",
             "db_path": str(home / "data" / "sample.db"), "allow_writes": True},
        ])  # fmt: skip
        install_host(profile, home, token_store="file")
        with chromium(profile) as driver:
            yield Product(driver, notion, home, profile)
