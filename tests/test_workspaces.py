"""Which Notion workspace a server entry serves, and several of them side by side, at the host's level: the name and
icon come from notion-fetch self (Notion's token response names none), stay with the sign-in, and each entry has
its own tokens; the chat offers each workspace's tools under its own name and says which one each call used."""

from __future__ import annotations

import json

import pytest

from dev_notion.testing import DevNotionProcess
from devkit.host_process import write_config
from host.token_store import EncryptedFileBackend, TokenStore
from host.workspace import parse_self
from tests.support.scripted_llm import ScriptedLLM
from tests.support.signin import PROFILE, browser, start


def self_result(workspace: object, error: bool = False) -> dict:
    text = json.dumps({"metadata": {"type": "self"}, "self": {"workspace": workspace, "user": {"id": "u"}}})
    return {"content": [{"type": "text", "text": text}], **({"isError": True} if error else {})}


def test_the_self_answer_is_read_carefully():
    assert parse_self(self_result({"id": "w", "name": "  Acme   Corp ", "icon": "🏢"})) == {
        "id": "w", "name": "Acme Corp", "icon": "🏢"
    }  # fmt: skip
    assert parse_self(self_result({"name": "A", "icon": {"type": "emoji", "emoji": "🌐"}}))["icon"] == "🌐"
    assert (
        parse_self(self_result({"name": "A", "icon": "https://x.example/i.png"}))["icon"]
        == "https://x.example/i.png"
    )
    for unsafe in ("javascript:alert(1)", "http://x.example/i.png", "<img src=x onerror=1>", "x" * 40):
        assert parse_self(self_result({"name": "A", "icon": unsafe}))["icon"] is None, unsafe
    assert parse_self(self_result({"name": "A" * 300}))["name"] == "A" * 100
    for nothing in (self_result({"name": ""}), self_result({"id": "w"}), self_result({"name": "A"}, error=True),
                    {"content": [{"type": "text", "text": "not json"}]}, {"content": []}):  # fmt: skip
        assert parse_self(nothing) is None


@pytest.fixture
def two(host_home):
    with (
        DevNotionProcess(auth=True, workspace_name="Acme Corp", workspace_icon="🏢") as acme,
        DevNotionProcess(auth=True, workspace_name="Globex", workspace_icon="") as globex,
    ):
        yield acme, globex


def test_two_workspaces_each_with_their_own_sign_in_name_and_icon(host_home, two):
    acme, globex = two
    write_config(host_home, [
        {"id": "notion", "name": "Notion", "kind": "remote", "url": acme.mcp_url, "enabled": False},
        {"id": "notion-2", "name": "Notion", "kind": "remote", "url": globex.mcp_url, "enabled": False},
    ])  # fmt: skip
    host = start(host_home)
    for server in ("notion", "notion-2"):
        browser(host)
        entry = host.result("server.connect", server=server, timeout=60)
        assert entry["state"] == "connected"
    status = {s["id"]: s for s in host.result("status.get")["servers"]}
    assert status["notion"]["name"] == "Notion · Acme Corp"
    assert status["notion"]["workspace"]["icon"] == "🏢" and status["notion"]["workspace"]["id"]
    assert status["notion-2"]["name"] == "Notion · Globex" and status["notion-2"]["workspace"]["icon"] is None
    assert status["notion"]["workspace"]["id"] != status["notion-2"]["workspace"]["id"]
    store = TokenStore(EncryptedFileBackend(host_home / "data"))
    first, second = store.load(PROFILE, "notion"), store.load(PROFILE, "notion-2")
    assert first and second and first.server_uid != second.server_uid
    assert first.client_info["client_id"] != second.client_info["client_id"], "a registration each"
    assert (first.workspace_name, first.workspace_icon) == ("Acme Corp", "🏢")

    done = host.result("server.disconnect", server="notion")
    assert done["state"] == "disabled" and done["workspace"] is None and done["name"] == "Notion"
    assert store.load(PROFILE, "notion") is None and store.load(PROFILE, "notion-2") is not None
    assert host.result("server.get", server="notion-2")["state"] == "connected"
    assert globex.admin("stats")["oauth"]["revocations"] == 0

    # Unreachable after a restart, Globex's card still names its workspace: it is kept with the sign-in.
    host.close()
    globex.kill()
    again = start(host_home)
    entry = again.wait_state("notion-2", "error", timeout=30)
    assert entry["name"] == "Notion · Globex" and entry["workspace"]["name"] == "Globex"


def test_the_chat_offers_each_workspaces_tools_and_says_which_one_ran(host_home):
    with (
        ScriptedLLM() as llm,
        DevNotionProcess(auth=False, workspace_name="Acme Corp") as acme,
        DevNotionProcess(auth=False, workspace_name="Globex") as globex,
    ):
        write_config(host_home, [
            {"id": "notion", "name": "Notion", "kind": "remote", "url": acme.mcp_url, "trusted": True},
            {"id": "notion-2", "name": "Notion", "kind": "remote", "url": globex.mcp_url, "trusted": True},
        ], llm={"base_url": llm.base_url, "model": "scripted"})  # fmt: skip
        host = start(host_home)
        host.wait_state("notion", "connected")
        host.wait_state("notion-2", "connected")
        llm.plan = [
            {"tool_calls": [{"name": "notion-2__notion-search", "arguments": {"query": "handbook"}}]},
            {"text": "Found it in Globex."},
        ]
        assert (
            host.result("chat.send", text="Find the handbook in Globex", timeout=60)["text"]
            == "Found it in Globex."
        )
        tools = {t["function"]["name"]: t["function"]["description"] for t in llm.requests[0]["tools"]}
        assert tools["notion__notion-search"].startswith("[Notion · Acme Corp]")
        assert tools["notion-2__notion-search"].startswith("[Notion · Globex]")
        done = next(f for f in host.frames if f.get("type") == "chat.tool" and f["status"] == "done")
        assert (done["server"], done["server_name"]) == ("notion-2", "Notion · Globex")
        assert (
            globex.admin("stats")["calls"]["notion-search"] == 1
            and "notion-search" not in acme.admin("stats")["calls"]
        )
