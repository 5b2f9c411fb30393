"""OAuth the MCP way, through the real host against the Notion-compatible server with OAuth on.

A stand-in for the extension answers ``auth.open`` by pressing Allow (or Deny) on the consent page.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from dev_notion.testing import DevNotionProcess, answer_consent
from host.client import HostProcess, write_config
from host.token_store import EncryptedFileBackend, TokenStore

PROFILE = "profile-aaaaaaaa"


_HOSTS: list[HostProcess] = []


@pytest.fixture
def notion(host_home):
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as server:
        yield server
        # Whatever the test did, no token the server ever issued may appear in a frame, a log line or stderr.
        issued = server.admin("issued-tokens")["tokens"]
        hosts, _HOSTS[:] = list(_HOSTS), []
        for host in hosts:
            if host.proc.poll() is None:
                host.close()
            assert scan_for(host_home, host, issued) == [], "a token value leaked"


def notion_config(server: DevNotionProcess, **fields) -> list[dict]:
    return [
        {
            "id": "notion",
            "name": "Notion",
            "kind": "remote",
            "url": server.mcp_url,
            "enabled": False,
            **fields,
        }
    ]


def start(home: Path, **kwargs) -> HostProcess:
    host = HostProcess(home, **kwargs)
    _HOSTS.append(host)
    assert host.result("hello", profile_id=PROFILE)["token_storage"] == "encrypted-file"
    return host


def browser(
    host: HostProcess, decision: str = "allow", *, tamper_state: bool = False, error: str | None = None
) -> list[str]:
    """Answer every auth.open like the extension would; returns the URLs it was asked to open."""
    opened: list[str] = []

    def serve() -> None:
        event = host.wait_for(lambda e: e["type"] == "auth.open", timeout=30)
        opened.append(event["url"])
        if error is not None:
            host.result("auth.result", auth_id=event["auth_id"], error=error)
            return
        redirect = answer_consent(event["url"], decision)
        if tamper_state:
            redirect = redirect.replace("state=", "state=x")
        host.result("auth.result", auth_id=event["auth_id"], redirect_url=redirect)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return opened


def stored_secrets(home: Path) -> list[str]:
    store = TokenStore(EncryptedFileBackend(home / "data"))
    credentials = store.load(PROFILE, "notion")
    return credentials.secrets() if credentials else []


def scan_for(home: Path, host: HostProcess, secrets: list[str]) -> list[str]:
    """Where any of the secrets appears: frames to the extension, the log, stderr."""
    import json

    frames = json.dumps(host.frames)
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("*"))
    stderr = "\n".join(host.stderr_lines)
    return [
        where
        for where, text in (("frames", frames), ("log", logs), ("stderr", stderr))
        for s in secrets
        if s in text
    ]


def test_first_connect_runs_the_browser_step_then_survives_a_restart_without_one(notion, host_home):
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    opened = browser(host)
    entry = host.result("server.connect", server="notion", timeout=60)
    assert entry["state"] == "connected" and entry["tools"] == 8
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


def test_short_lived_tokens_under_steady_load_never_fail_a_call(notion, host_home):
    notion.admin("token-lifetime", seconds=2)
    write_config(host_home, notion_config(notion))
    host = start(host_home)
    browser(host)
    host.result("server.connect", server="notion", timeout=60)
    failures, calls = [], 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = host.request("tool.call", server="notion", tool="notion-get-users")
        calls += 1
        if not reply["ok"] or reply["result"].get("isError"):
            failures.append(reply)
        time.sleep(0.05)
    stats = notion.admin("stats")["oauth"]
    print(f"calls={calls} refreshes={stats['refreshes']} browser_steps={stats['authorizations']}")
    assert failures == []
    assert stats["refreshes"] >= 10 and stats["authorizations"] == 1 and stats["refresh_rejections"] == 0


def test_two_hosts_sharing_a_store_refresh_without_invalid_grant(notion, host_home):
    write_config(host_home, notion_config(notion))
    first = start(host_home)
    browser(first)
    first.result("server.connect", server="notion", timeout=60)
    notion.admin("token-lifetime", seconds=2)
    # Make the stored token due at once in both hosts: expire it on the server side and let both notice.
    second = start(host_home)
    second.wait_state("notion", "connected")
    notion.admin("expire-access")
    errors = []

    def hammer(host: HostProcess) -> None:
        for _ in range(40):
            reply = host.request("tool.call", server="notion", tool="notion-get-users")
            if not reply["ok"] or reply["result"].get("isError"):
                errors.append(reply)
            time.sleep(0.1)

    threads = [threading.Thread(target=hammer, args=(h,)) for h in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = notion.admin("stats")["oauth"]
    print(f"refreshes={stats['refreshes']} rejections={stats['refresh_rejections']}")
    assert errors == [] and stats["refresh_rejections"] == 0 and stats["refreshes"] >= 1


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
