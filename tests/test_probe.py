"""notion-bridge probe: the host's engine from the command line, against the Notion-compatible server."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dev_notion.testing import DevNotionProcess


def probe(*args: str, home) -> subprocess.CompletedProcess[str]:
    env = {"NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_TOKEN_STORE": "file", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "probe", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.mark.parametrize("path", ["/mcp", "/sse"])
@pytest.mark.parametrize("auth", [False, True])
def test_probe_lists_tools_and_calls_one(tmp_path, path, auth):
    with DevNotionProcess(auth=auth, auto_approve=True) as server:
        done = probe(
            "--json", "--auth", "auto" if auth else "none", "--call", "notion-search", "--args", '{"query": "handbook"}',
            server.url + path, home=tmp_path,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr + done.stdout
        report = json.loads(done.stdout)
        assert report["server"]["name"] == "Notion"
        assert report["transport"] == ("http" if path == "/mcp" else "sse")
        assert len(report["tools"]) == 14
        assert "Engineering Handbook" in report["call"]["content"][0]["text"]
        if auth:
            assert server.admin("stats")["oauth"]["authorizations"] == 1
            again = probe("--json", "--auth", "auto", server.url + path, home=tmp_path)
            assert again.returncode == 0 and server.admin("stats")["oauth"]["authorizations"] == 1, (
                "sign-in reused"
            )


def test_probe_over_stdio(tmp_path):
    done = probe("--stdio", "--", sys.executable, "-m", "tests.support.toy_server", "stdio", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "echo" in done.stdout and "toy" in done.stdout


def test_probe_fails_with_a_clear_message(tmp_path):
    with DevNotionProcess(auth=True) as server:
        done = probe("--auth", "none", server.mcp_url, home=tmp_path)
        assert done.returncode != 0 and "401" in done.stderr
        done = probe("--auth", "auto", server.mcp_url, home=tmp_path)
        assert done.returncode != 0 and "wants a person" in done.stderr
    done = probe("--auth", "none", "http://127.0.0.1:9/mcp", home=tmp_path)
    assert done.returncode != 0 and "cannot connect" in done.stderr
    done = probe("--call", "x", "--args", "[1]", "http://127.0.0.1:9/mcp", home=tmp_path)
    assert done.returncode != 0 and "JSON object" in done.stderr
