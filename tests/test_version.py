"""One version everywhere: the package's metadata, the host's hello, the extension's manifest, the command line
and the changelog's newest entry all come from host.__version__ or must agree with it."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib

from host import __version__
from tests.support.processes import ROOT


def test_pyproject_takes_its_version_from_the_host_package():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"]
    assert "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "host.__version__"}


def test_the_extension_manifest_carries_the_same_version():
    manifest = json.loads((ROOT / "extension" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["version"] == __version__


def test_the_hello_carries_the_same_version(spawn_host):
    host = spawn_host()
    hello = host.next_event(timeout=10)
    assert hello["type"] == "hello" and hello["host_version"] == __version__


def test_the_command_line_says_its_version():
    done = subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "--version"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"notion-bridge {__version__}"


def test_the_changelog_opens_with_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    first = re.search(r"^## \[?(\d+\.\d+\.\d+)\]?", changelog, flags=re.MULTILINE)
    assert first is not None and first.group(1) == __version__


def test_the_licence_is_the_one_pyproject_names():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "Notion MCP Bridge contributors" in text
