"""Secrets bound to where they were granted, and approval decided by the person, not by a server.

A stranger's listener (tests.support.stranger) stands in for a third party's server. After a real sign-in to
the Notion-compatible server, the server entry is pointed at the stranger in every way a person (or another
profile's host, or a hand edit) can do it; the stranger must never see a token, and the tokens must be revoked
at the server that issued them and gone from the store. The same for the chat model's key and its endpoint.
"""

from __future__ import annotations

import json
import sys

import pytest

from devkit.browser import wait_until
from devkit.host_process import HostProcess, write_config
from host.token_store import EncryptedFileBackend
from tests.support.processes import ROOT, ToyServer
from tests.support.scripted_llm import ScriptedLLM
from tests.support.signin import (
    PROFILE,
    browser,
    leak_checked_notion,
    notion_config,
    start,
    stored_credentials,
    stored_secrets,
)
from tests.support.stranger import Stranger


@pytest.fixture
def notion(host_home):
    with leak_checked_notion(host_home) as server:
        yield server


@pytest.fixture
def stranger():
    with Stranger() as listener:
        yield listener


def signed_in(notion, host_home) -> tuple[HostProcess, list[str]]:
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    assert host.result("server.connect", server="notion", timeout=60)["state"] == "connected"
    secrets = stored_secrets(host_home)
    assert len(secrets) == 2
    return host, secrets


def revoked_at_issuer(notion) -> None:
    """The issuing server holds none of the tokens any more (revocation may finish just after the reply)."""
    wait_until(lambda: notion.admin("stats")["tokens"]["access_tokens"] == 0, "revocation at the issuer")
    assert notion.admin("stats")["oauth"]["revocations"] >= 1


def test_a_changed_url_never_receives_the_token_and_the_old_tokens_are_revoked(notion, host_home, stranger):
    host, secrets = signed_in(notion, host_home)
    host.result("server.update", server="notion", changes={"always_allow": ["notion-create-pages"]})
    before = host.result("config.get")["servers"][0]
    result = host.result("server.update", server="notion", changes={"url": f"{stranger.url}/mcp"})
    assert result["reidentified"] is True and result["name"] == "Notion", "no workspace name carried over"
    host.wait_state("notion", "error", timeout=30)
    after = host.result("config.get")["servers"][0]
    assert after["uid"] != before["uid"] and after["always_allow"] == []
    assert stranger.seen, "the host did try the new URL"
    assert stranger.authorization_headers() == [] and stranger.saw_any(secrets) == []
    assert stored_secrets(host_home) == []
    revoked_at_issuer(notion)


def test_a_server_removed_and_added_again_under_its_name_inherits_nothing(notion, host_home, stranger):
    host, secrets = signed_in(notion, host_home)
    host.result("server.update", server="notion", changes={"always_allow": ["notion-create-pages"]})
    old_uid = host.result("config.get")["servers"][0]["uid"]
    assert host.result("server.remove", server="notion")["revoked"] is True
    added = host.result(
        "server.add",
        server={"id": "notion", "name": "Notion", "kind": "remote", "url": f"{stranger.url}/mcp"},
    )
    assert added["name"] == "Notion"
    host.wait_state("notion", "error", timeout=30)
    entry = host.result("config.get")["servers"][0]
    assert entry["uid"] != old_uid and entry["always_allow"] == [] and entry["trusted"] is False
    assert stranger.seen and stranger.authorization_headers() == [] and stranger.saw_any(secrets) == []
    assert stored_credentials(host_home) is None
    revoked_at_issuer(notion)


def test_a_url_changed_behind_the_hosts_back_is_never_sent_the_token(notion, host_home, stranger):
    """Another profile's host, or a hand edit, moved the server while this host was not running: the uid is the
    same, but the stored tokens were issued for another origin."""
    host, secrets = signed_in(notion, host_home)
    host.close()
    path = host_home / "config" / "config.json"
    config = json.loads(path.read_text())
    config["servers"][0]["url"] = f"{stranger.url}/mcp"
    path.write_text(json.dumps(config))
    again = start(host_home)
    again.wait_state("notion", "error", "needs_auth", timeout=30)
    assert stranger.seen and stranger.authorization_headers() == [] and stranger.saw_any(secrets) == []
    assert stored_credentials(host_home) is None
    revoked_at_issuer(notion)


def test_a_store_from_before_tokens_named_their_server_is_adopted_once(notion, host_home):
    host, secrets = signed_in(notion, host_home)
    host.close()
    # As stored by earlier versions: no server uid in the credentials, no uid in the configuration.
    backend = EncryptedFileBackend(host_home / "data")
    key = f"{PROFILE}/notion"
    raw = json.loads(backend.get(key) or "{}")
    raw.pop("server_uid")
    backend.set(key, json.dumps(raw))
    path = host_home / "config" / "config.json"
    config = json.loads(path.read_text())
    config["servers"][0].pop("uid")
    path.write_text(json.dumps(config))
    again = start(host_home)
    again.wait_state("notion", "connected", timeout=30)
    uid = json.loads(path.read_text())["servers"][0]["uid"]
    assert stored_credentials(host_home).server_uid == uid
    assert not any(f["type"] == "auth.open" for f in again.frames), "migrated without a new sign-in"
    assert stored_secrets(host_home) == secrets


def test_connect_pressed_while_a_background_attempt_runs_opens_the_sign_in(notion, host_home):
    """The background attempt may not open windows; pressing Connect during it must not answer "press Connect"."""
    notion.admin("discovery-delay", ms=1500)
    write_config(host_home, notion_config(notion, enabled=True))
    host = start(host_home)  # its hello starts the background attempt, now held in discovery
    host.wait_state("notion", "connecting")
    opened = browser(host)
    entry = host.result("server.connect", server="notion", timeout=60)
    assert entry["state"] == "connected"
    assert len(opened) == 1, "one consent window, for the Connect"
    assert "needs_auth" not in [f["result"].get("state") for f in host.frames if f.get("type") == "reply" and f.get("ok") and isinstance(f.get("result"), dict)]  # fmt: skip


# --- the model key ----------------------------------------------------------------------------------------


def test_the_model_key_never_reaches_a_changed_endpoint(host_home, stranger):
    write_config(host_home, [])
    host = HostProcess(host_home)
    with ScriptedLLM() as llm:
        key = "sk-bound-to-its-endpoint-0123456789"
        configured = host.result("llm.configure", base_url=llm.base_url, model="scripted", api_key=key)
        assert configured["has_api_key"] is True
        llm.plan = [{"text": "hello"}]
        assert host.result("chat.send", text="hi", timeout=30)["text"] == "hello"
        assert llm.requests, "the model was asked"
        moved = host.result("llm.configure", base_url=f"{stranger.url}/v1", model="scripted")
        assert moved["has_api_key"] is False and moved["key_forgotten"] is True
        assert "forgotten" in moved["notice"]
        reply = host.request("chat.send", text="hi again", timeout=30)
        assert reply["ok"] is False and reply["error"]["code"] == "chat_failed"
        assert stranger.seen, "the chat did go to the new endpoint"
        assert stranger.saw_any([key]) == []
        assert host.result("config.get")["llm"]["has_api_key"] is False
        # Going back does not bring it back either: a forgotten key is gone.
        back = host.result("llm.configure", base_url=llm.base_url, model="scripted")
        assert back["has_api_key"] is False


def test_a_key_is_never_sent_over_plain_http_except_to_this_machine(host_home):
    write_config(host_home, [])
    host = HostProcess(host_home)
    before = host.result("config.get")["llm"]
    reply = host.request("llm.configure", base_url="http://models.example.com/v1", model="m", api_key="sk-x")
    assert reply["ok"] is False and reply["error"]["code"] == "invalid_arguments"
    assert "plain HTTP" in reply["error"]["message"]
    assert host.result("config.get")["llm"]["base_url"] == before["base_url"], "nothing changed"
    # Without a key a plain-HTTP endpoint on another machine is fine; on this machine a key is fine too.
    assert (
        host.result("llm.configure", base_url="http://models.example.com/v1", model="m")["has_api_key"]
        is False
    )
    local = host.result("llm.configure", base_url="http://localhost:11434/v1", model="m", api_key="sk-y")
    assert local["has_api_key"] is True


def test_a_key_stored_by_an_earlier_version_stays_with_its_endpoint(host_home, stranger):
    write_config(host_home, [], llm={"base_url": "https://openrouter.ai/api/v1", "model": "m"})
    EncryptedFileBackend(host_home / "data").set("llm/api-key", "sk-legacy-plain-text")
    host = HostProcess(host_home)
    assert host.result("config.get")["llm"]["has_api_key"] is True
    assert (
        host.result("llm.configure", base_url="https://openrouter.ai/api/v1", model="n")["has_api_key"]
        is True
    )
    moved = host.result("llm.configure", base_url=f"{stranger.url}/v1", model="n")
    assert moved["key_forgotten"] is True
    assert EncryptedFileBackend(host_home / "data").get("llm/api-key") is None


# --- approval is ours to decide ------------------------------------------------------------------------------


def sneaky_toy(tmp_path, **fields) -> dict:
    return {"id": "toy", "name": "Toy", "kind": "stdio", "cwd": str(ROOT),
            "command": [sys.executable, "-m", "tests.support.toy_server", "stdio"],
            "env": {"TOY_CALL_LOG": str(tmp_path / "calls.log")}, **fields}  # fmt: skip


def test_a_write_tool_marked_read_only_by_an_untrusted_server_still_asks(host_home, tmp_path):
    write_config(host_home, [sneaky_toy(tmp_path)])
    host = HostProcess(host_home)
    host.wait_state("toy", "connected", timeout=30)
    calls = tmp_path / "calls.log"
    with ScriptedLLM() as llm:
        host.result("llm.configure", base_url=llm.base_url, model="scripted")
        llm.plan = [
            {"tool_calls": [{"name": "toy__sneaky_write", "arguments": {"tag": "first"}}]},
            {"text": "done"},
        ]
        pending = host.start_request("chat.send", text="do it")
        waiting = host.wait_for(lambda e: e.get("type") == "chat.tool" and e["status"] == "awaiting_approval")
        assert waiting["tool"] == "sneaky_write"
        assert not calls.exists(), "nothing ran before the person answered"
        host.result(
            "chat.approve",
            conversation_id=waiting["conversation_id"],
            call_id=waiting["call_id"],
            approve=False,
        )
        assert host.reply(pending, 30)["ok"] is True
        assert not calls.exists()

        # Once the person trusts this server, its hints count.
        host.result("server.update", server="toy", changes={"trusted": True})
        host.wait_state("toy", "connected", timeout=30)
        llm.plan = [
            {"tool_calls": [{"name": "toy__sneaky_write", "arguments": {"tag": "second"}}]},
            {"text": "done"},
        ]
        assert host.result("chat.send", text="again", timeout=30)["text"] == "done"
        assert calls.read_text().split() == ["second"]
        statuses = [e["status"] for e in host.frames if e.get("type") == "chat.tool"]
        assert statuses.count("awaiting_approval") == 1


def test_trust_and_always_allow_are_forgotten_when_the_command_changes(host_home, tmp_path):
    write_config(host_home, [sneaky_toy(tmp_path, trusted=True, always_allow=["count"])])
    host = HostProcess(host_home)
    host.wait_state("toy", "connected", timeout=30)
    uid = host.result("config.get")["servers"][0]["uid"]
    changed = sneaky_toy(tmp_path)["command"] + ["--unused-flag"]
    host.result("server.update", server="toy", changes={"command": changed})
    entry = host.result("config.get")["servers"][0]
    assert entry["uid"] != uid and entry["trusted"] is False and entry["always_allow"] == []
    # A rename is not a new server.
    host.result("server.update", server="toy", changes={"name": "Renamed", "trusted": True})
    assert host.result("config.get")["servers"][0]["uid"] == entry["uid"]


# --- bounds ----------------------------------------------------------------------------------------------------


def test_an_oversized_event_from_a_remote_server_is_refused_with_its_limit_named(host_home, tmp_path):
    toy = ToyServer("http").start()
    try:
        write_config(
            host_home,
            [{"id": "toy", "name": "Toy", "kind": "remote", "url": toy.url, "transport": "http"}],
            limits={"max_event_mib": 1},
        )
        host = HostProcess(host_home)
        host.result("hello", profile_id=PROFILE)
        host.wait_state("toy", "connected", timeout=30)
        reply = host.request(
            "tool.call", server="toy", tool="big", arguments={"mib": 2}, timeout_s=20, timeout=40
        )
        assert reply["ok"] is False
        assert "limit" in reply["error"]["message"] and "max_event_mib" in reply["error"]["message"]
        # The session that carried it is ended (what it would have said next is unknowable) and made anew.
        wait_until(lambda: host.states_seen("toy")[-1] == "connected" and "error" in host.states_seen("toy"),
                   "a new session")  # fmt: skip
        small = host.result(
            "tool.call", server="toy", tool="echo", arguments={"text": "still here"}, timeout=40
        )
        assert small["content"][0]["text"] == "still here"
    finally:
        toy.kill()


def test_a_server_gets_one_question_open_at_a_time(host_home, tmp_path):
    write_config(host_home, [sneaky_toy(tmp_path)])
    host = HostProcess(host_home)
    host.wait_state("toy", "connected", timeout=30)
    first = host.start_request("tool.call", server="toy", tool="ask_name", arguments={})
    question = host.wait_for(lambda e: e.get("type") == "elicitation.request")
    second = host.result("tool.call", server="toy", tool="ask_name", arguments={}, timeout=20)
    assert second["content"][0]["text"] == "no name (cancel)"
    assert sum(f.get("type") == "elicitation.request" for f in host.frames) == 1
    host.result("elicitation.respond", elicitation_id=question["elicitation_id"], action="accept",
                content={"name": "Ada"})  # fmt: skip
    assert host.reply(first, 20)["result"]["content"][0]["text"] == "hello Ada"
