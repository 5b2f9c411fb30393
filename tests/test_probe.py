"""notion-bridge probe: the host's engine from the command line, against the Notion-compatible server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from dev_notion.testing import DevNotionProcess
from tests.support.token_scan import AUDIT_ENV


def probe(*args: str, home) -> subprocess.CompletedProcess[str]:
    env = {"NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_TOKEN_STORE": "file", "PATH": "/usr/bin:/bin"}
    # A bare environment, but the run's request audit still goes along: where the probe sent its tokens is checked.
    env.update({k: os.environ[k] for k in ("PYTHONPATH", AUDIT_ENV) if k in os.environ})
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


SNAPSHOT = Path(__file__).parent / "fixtures" / "notion_hosted_tools.json"


def test_probe_compares_the_tools_with_a_snapshot_and_saves_them(tmp_path):
    older = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    search = next(t for t in older["tools"] if t["name"] == "notion-search")
    search["inputSchema"]["properties"]["page_size"]["maximum"] = 25
    del search["inputSchema"]["properties"]["teamspace_id"]
    older["tools"] = [t for t in older["tools"] if t["name"] != "notion-get-teams"]
    older["tools"].append({"name": "notion-retired", "inputSchema": {"type": "object"}, "annotations": {}})
    stale = tmp_path / "stale.json"
    stale.write_text(json.dumps(older))
    with DevNotionProcess(auth=False) as server:
        same = probe("--auth", "none", "--compare", str(SNAPSHOT), server.mcp_url, home=tmp_path)
        assert same.returncode == 0 and f"the tools match {SNAPSHOT}" in same.stdout, same.stderr
        saved = tmp_path / "saved.json"
        done = probe(
            "--auth",
            "none",
            "--compare",
            str(stale),
            "--save-tools",
            str(saved),
            server.mcp_url,
            home=tmp_path,
        )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "notion-retired: not offered by the server (in the snapshot)" in out
    assert "notion-get-teams: offered by the server, not in the snapshot" in out
    assert "inputSchema/properties/page_size/maximum: 25 -> 50" in out
    assert 'inputSchema/properties/teamspace_id/type: new ("string")' in out
    written = json.loads(saved.read_text(encoding="utf-8"))
    assert {t["name"] for t in written["tools"]} == {
        t["name"] for t in json.loads(SNAPSHOT.read_text())["tools"]
    }
    assert (
        probe("--compare", str(tmp_path / "nope.json"), "http://127.0.0.1:9/mcp", home=tmp_path).returncode
        == 2
    )
