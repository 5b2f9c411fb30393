"""Bringing servers from Claude Desktop, Cursor and VS Code: what will be added is shown first, commands are
resolved to absolute paths, secrets (header values, secret-looking variables) go to the keychain and never into
config.json, and the imported servers connect — through the host's ``servers.import`` (the options page) and
through ``notion-bridge import FILE``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from devkit.host_process import HostProcess
from host.config import Config, ServerConfig
from host.importer import plan
from host.server_secrets import ServerSecrets
from host.token_store import EncryptedFileBackend
from tests.support.processes import ROOT, free_port, wait_until_serving

#: Where the tests' Python lives; first on the PATH the importer resolves ``python3`` with, as a person's own
#: installation would be.
VENV_BIN = str(Path(sys.executable).parent)
PYTHON3 = str(Path(VENV_BIN) / "python3")
SEARCH_PATH = {"PATH": os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")])}
HEADER_SECRET = "hdr-secret-7b3e9f"
ENV_SECRET = "env-secret-1d84c2"


@pytest.fixture
def remote_servers(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two feature servers over streamable HTTP: one for a plain URL, one for a URL with a header."""
    procs, urls = [], []
    for _ in range(2):
        port = free_port()
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.support.feature_server", "http", str(port)],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_until_serving(port)
        urls.append(f"http://127.0.0.1:{port}/mcp")
    yield urls[0], urls[1]
    for proc in procs:
        proc.kill()
        proc.wait()


def claude_desktop_file(plain_url: str, header_url: str) -> str:
    return json.dumps(
        {
            "mcpServers": {
                "Local features": {
                    "command": "python3",
                    "args": ["-m", "tests.support.feature_server", "stdio"],
                    "env": {"PYTHONPATH": str(ROOT), "FEATURE_API_KEY": ENV_SECRET, "FEATURE_ERA": "legacy"},
                },
                "Remote features": {"url": plain_url},
                "Remote with key": {"url": header_url, "headers": {"X-Api-Key": HEADER_SECRET}},
            },
            "globalShortcut": "",
        }
    )


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(block["text"] for block in result["content"] if block["type"] == "text")


def check_secrets_kept(home: Path, ids: dict[str, str]) -> None:
    config_text = (home / "config" / "config.json").read_text()
    assert HEADER_SECRET not in config_text and ENV_SECRET not in config_text
    stored = json.loads(config_text)
    by_id = {s["id"]: s for s in stored["servers"]}
    assert by_id[ids["Remote with key"]]["header_names"] == ["X-Api-Key"]
    local = by_id[ids["Local features"]]
    assert local["secret_env"] == ["FEATURE_API_KEY"] and "FEATURE_API_KEY" not in local["env"]
    assert local["command"][0] == PYTHON3, "resolved to an absolute path"
    assert local["env"]["PATH"].split(os.pathsep)[0] == VENV_BIN
    secrets = ServerSecrets(EncryptedFileBackend(home / "data"))
    assert secrets.load(ServerConfig.model_validate(by_id[ids["Remote with key"]])).headers == {
        "X-Api-Key": HEADER_SECRET
    }
    assert secrets.load(ServerConfig.model_validate(local)).env == {"FEATURE_API_KEY": ENV_SECRET}


def check_all_connected(host: HostProcess, ids: dict[str, str]) -> None:
    for server_id in ids.values():
        host.wait_state(server_id, "connected", timeout=40)
    with_key = ids["Remote with key"]
    assert (
        text_of(host.result("tool.call", server=with_key, tool="header", arguments={"name": "X-Api-Key"}))
        == HEADER_SECRET
    )
    plain = ids["Remote features"]
    assert (
        text_of(host.result("tool.call", server=plain, tool="header", arguments={"name": "X-Api-Key"}))
        == "(none)"
    )
    local = ids["Local features"]
    assert host.result("resources.list", server=local)["resources"], (
        "the stdio server came up with its variables"
    )


def test_claude_desktop_file_through_the_host(spawn_host, remote_servers) -> None:
    text = claude_desktop_file(*remote_servers)
    host = spawn_host([], env=SEARCH_PATH)
    preview = host.result("servers.import", text=text)
    assert preview["format"] == "mcpServers" and preview["added"] == []
    assert json.loads((host.home / "config" / "config.json").read_text())["servers"] == [], (
        "nothing added yet"
    )
    shown = json.dumps(preview)
    assert HEADER_SECRET not in shown and ENV_SECRET not in shown, (
        "the preview names secrets, never shows them"
    )
    by_name = {s["name"]: s for s in preview["servers"]}
    assert by_name["Remote with key"]["header_names"] == ["X-Api-Key"]
    assert by_name["Local features"]["secret_env"] == ["FEATURE_API_KEY"]
    assert by_name["Local features"]["command"][0] == PYTHON3

    done = host.result("servers.import", text=text, apply=True)
    ids = {s["name"]: s["id"] for s in done["servers"]}
    assert sorted(s["id"] for s in done["added"]) == sorted(ids.values()) and len(ids) == 3
    for server_id in ids.values():
        host.wait_state(server_id, "connected", timeout=40)
    assert HEADER_SECRET not in json.dumps(host.frames), "no secret in any frame to the extension"
    check_all_connected(host, ids)
    check_secrets_kept(host.home, ids)

    again = host.result("servers.import", text=text, apply=True)
    assert again["added"] == [] and all(
        s["skipped"].startswith("already configured") for s in again["servers"]
    )


def test_notion_bridge_import_then_the_host_connects_them(
    tmp_path: Path, host_home: Path, remote_servers
) -> None:
    source = tmp_path / "claude_desktop_config.json"
    source.write_text(claude_desktop_file(*remote_servers))
    env = {
        **os.environ,
        **SEARCH_PATH,
        "NOTION_BRIDGE_HOME": str(host_home),
        "NOTION_BRIDGE_TOKEN_STORE": "file",
    }
    shown = subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "import", "--dry-run", str(source)],
        capture_output=True, text=True, env=env, timeout=60, check=True,
    )  # fmt: skip
    assert "3 to add, 0 skipped" in shown.stdout and "kept in the keychain: X-Api-Key" in shown.stdout
    assert HEADER_SECRET not in shown.stdout
    done = subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "import", "--yes", "--json", str(source)],
        capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    ids = {s["name"]: s["id"] for s in report["servers"]}
    assert sorted(report["added"]) == sorted(ids.values())
    check_secrets_kept(host_home, ids)
    with HostProcess(host_home) as host:
        check_all_connected(host, ids)


def test_vscode_and_cursor_files(tmp_path: Path) -> None:
    vscode = """{
      // VS Code's mcp.json: comments and trailing commas are allowed
      "inputs": [{"id": "api-key", "type": "promptString", "password": true}],
      "servers": {
        "github": {"type": "http", "url": "https://api.example.com/mcp/", "headers": {"Authorization-Token": "${input:api-key}"}},
        "events": {"type": "sse", "url": "https://events.example.com/sse"},
        "files": {"type": "stdio", "command": "no-such-program-here", "args": ["${userHome}/notes"], "env": {"LOG": "1"},},
      },
    }"""
    planned = plan(vscode, Config(servers=[]))
    assert planned.format == "vscode"
    by_name = {p.name: p for p in planned.servers}
    github = by_name["github"]
    assert (
        github.config is not None and github.config.transport == "http" and github.config.header_names == []
    )
    assert any("${input:api-key}" in note for note in github.notes), "what cannot be carried over is said"
    assert by_name["events"].config is not None and by_name["events"].config.transport == "sse"
    files = by_name["files"].config
    assert files is not None and files.command == ["no-such-program-here", f"{Path.home()}/notes"]
    assert files.env == {"LOG": "1"}
    assert any("was not found on this computer" in note for note in by_name["files"].notes)

    cursor = {
        "mcpServers": {
            "docs": {"url": "https://docs.example.com/mcp", "disabled": True},
            "broken": {"args": []},
        }
    }
    existing = Config(
        servers=[ServerConfig(id="docs", name="Docs", kind="remote", url="https://other.example.com/mcp")]
    )
    planned = plan(json.dumps(cursor), existing)
    docs = planned.servers[0]
    assert docs.config is not None and docs.config.id == "docs-2" and docs.config.enabled is False
    assert planned.servers[1].skipped == "neither a command nor a URL"

    same = plan(json.dumps({"mcpServers": {"Docs": {"url": "https://other.example.com/mcp"}}}), existing)
    assert same.servers[0].skipped == "already configured as docs"


def test_a_command_outside_the_browsers_path_brings_its_folder(tmp_path: Path) -> None:
    tools = tmp_path / "node" / "bin"
    tools.mkdir(parents=True)
    npx = tools / "npx"
    npx.write_text("#!/bin/sh\n")
    npx.chmod(0o755)
    text = json.dumps({"mcpServers": {"everything": {"command": "npx", "args": ["-y", "server-everything"]}}})
    planned = plan(text, Config(servers=[]), search_path=str(tools))
    server = planned.servers[0].config
    assert server is not None and server.command == [str(npx), "-y", "server-everything"]
    assert server.env["PATH"].split(os.pathsep)[0] == str(tools), "npx finds node beside it"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "the file is not JSON"),
        ("[]", "no object of servers"),
        ('{"other": {}}', "no servers found"),
    ],
)
def test_files_that_are_not_server_lists_are_refused_in_words(spawn_host, text: str, words: str) -> None:
    host = spawn_host([])
    reply = host.request("servers.import", text=text)
    assert reply["error"]["code"] == "invalid_arguments" and words in reply["error"]["message"]


def test_headers_go_to_their_servers_origin_only() -> None:
    import asyncio

    import httpx2

    from host.transports.http import custom_headers

    hook = custom_headers({"X-Api-Key": "k"}, "https://mcp.example.com/mcp")
    own = httpx2.Request("POST", "https://mcp.example.com/mcp")
    metadata = httpx2.Request("GET", "https://mcp.example.com/.well-known/oauth-protected-resource")
    elsewhere = httpx2.Request("POST", "https://auth.example.com/token")
    other_port = httpx2.Request("GET", "https://mcp.example.com:8443/mcp")
    for request in (own, metadata, elsewhere, other_port):
        asyncio.run(hook(request))
    assert own.headers.get("X-Api-Key") == "k" and metadata.headers.get("X-Api-Key") == "k"
    assert "X-Api-Key" not in elsewhere.headers and "X-Api-Key" not in other_port.headers
