"""Every sign-in the MCP authorization spec allows, each against an authorization server of that shape
(tests/support/auth_server.py, on the SDK's mcp.server.auth), through ``notion-bridge probe`` and through the
host as the extension drives it: dynamic registration, pre-registered clients sending their secret as
``client_secret_basic`` or ``client_secret_post`` as the server's metadata says, client ID metadata documents,
2025-03-26 servers (metadata at the MCP server's origin, default endpoints without it), scopes from the 401,
from the published metadata or none, step-up on 403 ``insufficient_scope`` without ever looping, and the
authorization response's ``iss``. The browser's part is tests/test_extension_signin_e2e.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from devkit.host_process import HostProcess
from host.config import DEFAULT_CLIENT_METADATA_URL
from tests.support.auth_server import PRE_REGISTERED, AuthServerProcess

#: What each variant must show, beyond connecting: the scope asked for at the first authorization, and whether
#: the client registered.
EXPECTED: dict[str, dict[str, Any]] = {
    "dcr": {"scope": "read write admin", "registrations": 1},
    "basic": {"scope": None, "registrations": 0},
    "post": {"scope": None, "registrations": 0},
    "legacy": {"scope": None, "registrations": 1},
    "legacy-bare": {"scope": None, "registrations": 1},
    "scope-header": {"scope": "read write", "registrations": 1},
    "scope-prm": {"scope": "read write", "registrations": 1},
    "scope-none": {"scope": None, "registrations": 1},
    "cimd": {"scope": None, "registrations": 0},
    "iss": {"scope": None, "registrations": 1},
}
REFUSED = {
    "iss-missing": "lacks the issuer (iss)",
    "iss-wrong": "names another authorization server",
}


def probe(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"NOTION_BRIDGE_HOME": str(home), "NOTION_BRIDGE_TOKEN_STORE": "file", "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, "-m", "notion_bridge.cli", "probe", "--json", "--auth", "auto", *args],
        capture_output=True,
        text=True,
        timeout=90,
        env=env,
    )


def client_args(variant: str) -> list[str]:
    if variant not in PRE_REGISTERED:
        return []
    client_id, secret = PRE_REGISTERED[variant]
    return ["--client-id", client_id, "--client-secret", secret]


def check_signed_in_as_expected(variant: str, stats: dict[str, Any]) -> None:
    expected = EXPECTED[variant]
    first = stats["authorizations"][0]
    assert first["scope"] == expected["scope"], stats["authorizations"]
    assert stats["registrations"] == expected["registrations"]
    exchange = next(t for t in stats["token_requests"] if t["grant_type"] == "authorization_code")
    if variant == "basic":
        assert exchange["basic"] is True and exchange["secret_in_body"] is False
    elif variant == "post":
        assert exchange["basic"] is False and exchange["secret_in_body"] is True
    else:
        assert exchange["basic"] is False and exchange["secret_in_body"] is False, "a public client"
    if variant == "cimd":
        assert first["client_id"] == DEFAULT_CLIENT_METADATA_URL
        assert DEFAULT_CLIENT_METADATA_URL in stats["cimd_lookups"]
    if variant in PRE_REGISTERED:
        assert first["client_id"] == PRE_REGISTERED[variant][0]


# --- through the probe ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_probe_signs_in(tmp_path: Path, variant: str) -> None:
    with AuthServerProcess(variant) as server:
        done = probe(
            tmp_path, *client_args(variant), "--call", "echo", "--args", '{"text": "hi"}', server.url
        )
        assert done.returncode == 0, done.stderr + done.stdout
        report = json.loads(done.stdout)
        assert report["server"]["name"] == f"signin-{variant}"
        assert report["call"]["content"][0]["text"] == "hi"
        stats = server.stats()
        check_signed_in_as_expected(variant, stats)
        assert len(stats["authorizations"]) == 1
        if variant.startswith("legacy"):
            assert report["protocol_version"] == "2025-11-25", "a handshake-era server"

        again = probe(tmp_path, *client_args(variant), server.url)
        assert again.returncode == 0, again.stderr + again.stdout
        assert len(server.stats()["authorizations"]) == 1, "the second probe reuses the sign-in"


@pytest.mark.parametrize("variant", list(REFUSED))
def test_probe_refuses_an_authorization_response_with_the_wrong_iss(tmp_path: Path, variant: str) -> None:
    with AuthServerProcess(variant) as server:
        done = probe(tmp_path, server.url)
        assert done.returncode != 0
        assert REFUSED[variant] in json.loads(done.stdout)["error"]
        assert server.stats()["token_requests"] == [], "the code is never exchanged"


def test_probe_steps_up_once_for_more_scope_and_never_loops(tmp_path: Path) -> None:
    with AuthServerProcess("step-up") as server:
        done = probe(tmp_path, "--call", "admin_only", server.url)
        assert done.returncode == 0, done.stderr + done.stdout
        assert json.loads(done.stdout)["call"]["content"][0]["text"] == "admin things done"
        scopes = [a["scope"] for a in server.stats()["authorizations"]]
        assert scopes == ["read write", "read write admin"], "the union of what was held and what was asked"

        refused = probe(tmp_path, "--call", "root_only", server.url)
        assert refused.returncode != 0
        assert "needs a permission that was not granted (scope: read write admin root)" in refused.stdout
        scopes = [a["scope"] for a in server.stats()["authorizations"]]
        assert scopes == ["read write", "read write admin", "read write admin root"], "one more try, no loop"


# --- through the host, as the extension drives it ---------------------------------------------------------------


class Browser:
    """Answers every ``auth.open`` the way the extension's consent window ends: at the redirect the
    authorization server sends back (these servers consent at once)."""

    def __init__(self, host: HostProcess) -> None:
        self.host = host
        self.opened: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                event = self.host.wait_for(lambda e: e["type"] == "auth.open", timeout=0.5)
            except AssertionError:
                continue
            self.opened.append(event["url"])
            redirect = httpx.get(event["url"], follow_redirects=False, timeout=10).headers["location"]
            self.host.request("auth.result", auth_id=event["auth_id"], redirect_url=redirect)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def add_and_connect(host: HostProcess, variant: str, url: str) -> dict[str, Any]:
    server: dict[str, Any] = {
        "id": "signin",
        "name": "Sign-in",
        "kind": "remote",
        "url": url,
        "enabled": False,
    }
    if variant in PRE_REGISTERED:
        server["client_id"], server["client_secret"] = PRE_REGISTERED[variant]
    host.result("server.add", server=server)
    return host.request("server.connect", timeout=60, server="signin")


@pytest.mark.parametrize("variant", list(EXPECTED))
def test_host_signs_in_and_a_restarted_host_needs_no_second_sign_in(spawn_host, variant: str) -> None:
    with AuthServerProcess(variant) as server:
        host = spawn_host([])
        host.result("hello", profile_id="profile-aaaaaaaa")
        browser = Browser(host)
        try:
            connected = add_and_connect(host, variant, server.url)
            assert connected["ok"], connected
            assert connected["result"]["state"] == "connected"
            reply = host.result(
                "tool.call", server="signin", tool="echo", arguments={"text": "through the host"}
            )
            assert reply["content"][0]["text"] == "through the host"
        finally:
            browser.stop()
        stats = server.stats()
        check_signed_in_as_expected(variant, stats)
        assert len(browser.opened) == 1
        if variant == "cimd":
            assert (
                "redirect_uri=https%3A%2F%2Faikfhgidlkadhpijaojkkpakcdplakaf.chromiumapp.org%2Foauth%2Fcallback"
                in browser.opened[0]
            )
        config = (host.home / "config" / "config.json").read_text()
        if variant in PRE_REGISTERED:
            assert PRE_REGISTERED[variant][1] not in config, "the client secret is in the keychain only"
        host.close()

        again = spawn_host()
        again.result("hello", profile_id="profile-aaaaaaaa")
        again.wait_state("signin", "connected", timeout=30)
        assert len(server.stats()["authorizations"]) == 1


@pytest.mark.parametrize("variant", list(REFUSED))
def test_host_refuses_an_authorization_response_with_the_wrong_iss(spawn_host, variant: str) -> None:
    with AuthServerProcess(variant) as server:
        host = spawn_host([])
        host.result("hello", profile_id="profile-aaaaaaaa")
        browser = Browser(host)
        try:
            reply = add_and_connect(host, variant, server.url)
        finally:
            browser.stop()
        assert not reply["ok"] and reply["error"]["code"] == "needs_auth"
        assert REFUSED[variant] in reply["error"]["message"]
        assert host.server("signin")["state"] == "needs_auth"
        assert server.stats()["token_requests"] == []


def test_host_steps_up_during_a_call_even_in_a_session_it_started_by_itself(spawn_host) -> None:
    with AuthServerProcess("step-up") as server:
        host = spawn_host([])
        host.result("hello", profile_id="profile-aaaaaaaa")
        browser = Browser(host)
        try:
            assert add_and_connect(host, "step-up", server.url)["ok"]
        finally:
            browser.stop()
        host.close()

        # A new host connects by itself with the stored token: no window may open for that...
        again = spawn_host()
        again.result("hello", profile_id="profile-aaaaaaaa")
        again.wait_state("signin", "connected", timeout=30)
        assert len(server.stats()["authorizations"]) == 1
        # ...but the person's own call that needs more scope asks them, once.
        browser = Browser(again)
        try:
            done = again.result("tool.call", timeout=60, server="signin", tool="admin_only")
            assert done["content"][0]["text"] == "admin things done"
            assert len(browser.opened) == 1 and "scope=read+write+admin" in browser.opened[0]
            again.result("tool.call", server="signin", tool="admin_only")
            assert len(browser.opened) == 1, "the new scope is kept"

            refused = again.request("tool.call", timeout=60, server="signin", tool="root_only")
            assert refused["error"]["code"] == "server_error"
            assert "needs a permission that was not granted" in refused["error"]["message"]
            refused = again.request("tool.call", timeout=60, server="signin", tool="root_only")
            assert "needs a permission that was not granted" in refused["error"]["message"]
            assert len(browser.opened) == 2, "asked once for root, never again"
        finally:
            browser.stop()
        assert again.server("signin")["state"] == "connected"
