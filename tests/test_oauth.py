"""OAuth the MCP way, through the real host against the Notion-compatible server with OAuth on.

A stand-in for the extension answers ``auth.open`` by pressing Allow (or Deny) on the consent page. Short
tokens under load, several hosts on one store and hosts killed mid-refresh are in test_token_safety.
"""

from __future__ import annotations

import time

import pytest

from devkit.host_process import write_config
from tests.support.signin import (
    browser,
    leak_checked_notion,
    notion_config,
    scan_for,
    start,
    stored_credentials,
    stored_secrets,
)


@pytest.fixture
def notion(host_home):
    with leak_checked_notion(host_home) as server:
        yield server


def test_first_connect_runs_the_browser_step_then_survives_a_restart_without_one(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    opened = browser(host)
    entry = host.result("server.connect", server="notion", timeout=60)
    assert entry["state"] == "connected" and entry["tools"] == 14
    assert entry["name"] == "Notion · Acme Corp"
    assert len(opened) == 1 and "code_challenge_method=S256" in opened[0] and "resource=" in opened[0]
    assert "redirect_uri=https%3A%2F%2F" in opened[0] and ".chromiumapp.org%2Foauth%2Fnotion" in opened[0]
    result = host.result("tool.call", server="notion", tool="notion-search", arguments={"query": "handbook"})
    assert "Engineering Handbook" in result["content"][0]["text"]
    secrets = stored_secrets(host_home)
    assert len(secrets) == 2
    host.close()

    again = start(host_home)
    again.wait_state("notion", "connected")
    assert not any(f["type"] == "auth.open" for f in again.frames), "a restart must not ask the person again"
    stats = notion.admin("stats")["oauth"]
    assert stats["authorizations"] == 1 and stats["registrations"] == 1
    assert scan_for(host_home, host, secrets) == [] and scan_for(host_home, again, secrets) == []


def test_consent_revoked_server_side_ends_in_needs_auth(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    host.result("server.connect", server="notion", timeout=60)
    notion.admin("revoke-all")
    reply = host.request("tool.call", server="notion", tool="notion-get-users")
    assert reply["ok"] is False or reply["result"].get("isError")
    opened_before = sum(f["type"] == "auth.open" for f in host.frames)
    entry = host.wait_state("notion", "needs_auth", timeout=30)
    assert "connect" in entry["error"].lower()
    assert sum(f["type"] == "auth.open" for f in host.frames) == opened_before, "no window without the person"


def test_a_forgotten_registration_registers_again(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    host.result("server.connect", server="notion", timeout=60)
    notion.admin("forget-clients")
    host.request("tool.call", server="notion", tool="notion-get-users")
    host.wait_state("notion", "needs_auth", timeout=30)
    browser(host)
    entry = host.result("server.connect", server="notion", timeout=60)
    assert entry["state"] == "connected"
    assert notion.admin("stats")["oauth"]["registrations"] == 2


@pytest.mark.parametrize(
    ("how", "words"),
    [
        ({"decision": "deny"}, "access was denied"),
        ({"error": "The user did not approve access."}, "The user did not approve access"),
        ({"tamper_state": True}, "wrong state"),
    ],
)
def test_a_sign_in_that_does_not_finish_ends_in_needs_auth_with_words(notion, host_home, how, words):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host, **how)
    reply = host.request("server.connect", server="notion", timeout=60)
    assert reply["ok"] is False and reply["error"]["code"] == "needs_auth"
    assert words in reply["error"]["message"]
    assert host.server("notion")["state"] == "needs_auth"


def test_a_sign_in_window_left_open_times_out(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home, env={"NOTION_BRIDGE_SIGNIN_TIMEOUT_S": "1"})
    reply = host.request("server.connect", server="notion", timeout=30)
    assert (
        reply["error"]["code"] == "needs_auth"
        and "not completed within 1 seconds" in reply["error"]["message"]
    )


def test_disconnect_revokes_and_leaves_no_token(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    host.result("server.connect", server="notion", timeout=60)
    assert stored_secrets(host_home)
    result = host.result("server.disconnect", server="notion")
    assert result["revoked"] is True and result["state"] == "disabled"
    assert stored_secrets(host_home) == []
    assert notion.admin("stats")["oauth"]["revocations"] >= 1
    assert notion.admin("stats")["tokens"]["access_tokens"] == 0


def test_a_background_reconnect_never_opens_a_window(notion, host_home):
    write_config(host_home, notion_config(notion, enabled=True))
    host = start(host_home)
    entry = host.wait_state("notion", "needs_auth", timeout=30)
    assert "press Connect" in entry["error"]
    assert not any(f["type"] == "auth.open" for f in host.frames)


def test_a_pre_registered_client_is_used_before_registering(notion, host_home):
    import httpx

    registered = httpx.post(
        f"{notion.url}/register",
        json={
            "redirect_uris": [f"https://{'a' * 32}.chromiumapp.org/oauth/mine"],
            "token_endpoint_auth_method": "client_secret_post",
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
            "client_name": "Pre-registered",
        },
    ).json()
    write_config(host_home, [], allowed_extension_ids=["a" * 32])
    host = start(host_home, origin=f"chrome-extension://{'a' * 32}/")
    host.result(
        "server.add",
        server={
            "id": "mine",
            "name": "Notion (pre-registered)",
            "kind": "remote",
            "url": notion.mcp_url,
            "client_id": registered["client_id"],
            "client_secret": registered["client_secret"],
            "enabled": False,
        },
    )
    assert "client_secret" not in (host_home / "config" / "config.json").read_text()
    opened = browser(host)
    entry = host.result("server.connect", server="mine", timeout=60)
    assert entry["state"] == "connected"
    assert f"client_id={registered['client_id']}" in opened[0]
    assert notion.admin("stats")["oauth"]["registrations"] == 1, "the host must not register another client"


# --- a sign-in server that fails for a passing reason ------------------------------------------------------


@pytest.mark.parametrize(
    "failure",
    [
        {"status": 503, "error": "temporarily_unavailable"},
        {"status": 500, "error": "server_error"},
        {"status": 400, "error": "temporarily_unavailable"},
        {"status": 502},
        {"drop": True},
    ],
    ids=[
        "503-temporarily_unavailable",
        "500-server_error",
        "400-temporarily_unavailable",
        "502-bare-page",
        "connection-cut",
    ],
)
def test_a_refresh_failing_for_a_passing_reason_costs_no_call_and_no_sign_in(notion, host_home, failure):
    """Refresh is due while the token still works; the sign-in server fails the first three refreshes (5xx,
    temporarily_unavailable, a proxy's page, a cut connection). The host keeps the token it has, keeps every
    call working, keeps the stored sign-in, and refreshes once the server is back."""
    notion.admin("token-lifetime", seconds=10)  # due after 5 s, expired after 10
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    assert host.result("server.connect", server="notion", timeout=60)["state"] == "connected"
    notion.admin("token-fail", times=3, **failure)
    calls, deadline = 0, time.monotonic() + 60
    while notion.admin("stats")["oauth"]["refreshes"] < 1:
        assert time.monotonic() < deadline, f"never refreshed: {notion.admin('stats')}"
        result = host.result("tool.call", server="notion", tool="notion-get-users")
        assert not result.get("isError"), result
        calls += 1
        time.sleep(0.2)
    stats = notion.admin("stats")
    assert stats["token_endpoint"]["failed"] == 3, "the host did ask, and was refused three times"
    assert stats["oauth"]["invalid_grant"] == 0 and stats["oauth"]["authorizations"] == 1
    assert calls > 0 and host.states_seen("notion")[-1] == "connected"
    assert "needs_auth" not in host.states_seen("notion")
    assert sum(f["type"] == "auth.open" for f in host.frames) == 1, "no second sign-in"
    credentials = stored_credentials(host_home)
    assert credentials is not None and credentials.refresh_token
    assert host.result("tool.call", server="notion", tool="notion-get-users")["isError"] is False


def test_a_sign_in_answer_from_another_issuer_is_refused(notion, host_home):
    """RFC 9207: the authorization response names its issuer (``iss``); one that is not the server the
    request went to (a mix-up attack) is refused and its code never exchanged."""
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host, tamper_iss=True)
    reply = host.request("server.connect", server="notion", timeout=60)
    assert reply["ok"] is False and reply["error"]["code"] == "needs_auth"
    assert "iss mismatch" in reply["error"]["message"] and "connect again" in reply["error"]["message"]
    assert notion.admin("issued-tokens")["tokens"] == [], "the code was never exchanged"
    assert stored_secrets(host_home) == []
