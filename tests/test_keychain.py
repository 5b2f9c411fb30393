"""Tokens and the model key in a real OS keychain: the Secret Service of gnome-keyring, on a D-Bus session of
the test's own, under a throw-away HOME (never the machine's keychain).

Every other test forces the encrypted file (NOTION_BRIDGE_TOKEN_STORE=file), so this is the one place the
keychain path runs for real: the host picks the Secret Service by itself, a sign-in lands there and not in a
file, a restarted host signs in from it without a window, and a disconnect deletes it. gnome-keyring and
dbus-daemon are required (.ci/run installs them); missing, the test fails rather than skips.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devkit.host_process import HostProcess, write_config
from host.token_store import KEYRING_SERVICE, TokenStore
from tests.support.signin import PROFILE, browser, leak_checked_notion, notion_config


def _require(binary: str) -> str:
    found = shutil.which(binary)
    if found is None:
        raise RuntimeError(
            f"{binary} is required for the keychain test (apt install gnome-keyring dbus-daemon)"
        )
    return found


@pytest.fixture
def secret_service(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A D-Bus session bus and an unlocked gnome-keyring on it; yields the environment that reaches them."""
    home = tmp_path / "keychain-home"
    runtime = home / "run"
    runtime.mkdir(parents=True, mode=0o700)
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "XDG_RUNTIME_DIR": str(runtime),
    }
    env.pop("DBUS_SESSION_BUS_ADDRESS", None)
    bus = subprocess.run(
        [_require("dbus-daemon"), "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    address, bus_pid = bus.stdout.split()[:2]
    env["DBUS_SESSION_BUS_ADDRESS"] = address
    keyring_daemon = subprocess.Popen(
        [_require("gnome-keyring-daemon"), "--foreground", "--unlock", "--components=secrets"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        assert keyring_daemon.stdin is not None
        keyring_daemon.stdin.write(b"test keychain password")
        keyring_daemon.stdin.close()
        deadline = time.monotonic() + 20
        while not _owned(env, "org.freedesktop.secrets"):
            assert keyring_daemon.poll() is None, "gnome-keyring-daemon exited"
            assert time.monotonic() < deadline, "the Secret Service never appeared on the bus"
            time.sleep(0.1)
        yield env
    finally:
        keyring_daemon.kill()
        keyring_daemon.wait()
        os.kill(int(bus_pid), signal.SIGTERM)


def _owned(env: dict[str, str], name: str) -> bool:
    done = subprocess.run(
        ["dbus-send", "--session", "--print-reply", "--dest=org.freedesktop.DBus", "/org/freedesktop/DBus",
         "org.freedesktop.DBus.NameHasOwner", f"string:{name}"],
        capture_output=True, text=True, env=env,
    )  # fmt: skip
    return done.returncode == 0 and "boolean true" in done.stdout


KEYCHAIN_READER = """
import json, sys, keyring
value = keyring.get_password(sys.argv[1], sys.argv[2])
stored = json.loads(value) if value else None
print(json.dumps({
    "backend": type(keyring.get_keyring()).__module__,
    "present": value is not None,
    "has_refresh_token": bool(stored and stored.get("refresh_token")),
    "has_access_token": bool(stored and stored.get("access_token")),
}))
"""


def in_keychain(env: dict[str, str], entry: str) -> dict[str, object]:
    """What the Secret Service holds under ``entry``, read by another process: whether, never what."""
    done = subprocess.run(
        [sys.executable, "-c", KEYCHAIN_READER, KEYRING_SERVICE, entry],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(done.stdout))


def keychain_host(home: Path, env: dict[str, str]) -> HostProcess:
    # HostProcess forces the file store for every other test; here the host chooses by itself.
    host_env = {key: env[key] for key in ("HOME", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME",
                                          "XDG_RUNTIME_DIR", "DBUS_SESSION_BUS_ADDRESS")}  # fmt: skip
    host = HostProcess(home, env={**host_env, "NOTION_BRIDGE_TOKEN_STORE": ""})
    storage = host.result("hello", profile_id=PROFILE)["token_storage"]
    assert storage != "encrypted-file", "the host did not choose the keychain"
    return host


def test_a_sign_in_is_kept_in_the_real_keychain_used_after_a_restart_and_deleted_on_disconnect(
    secret_service, host_home
):
    entry = TokenStore.key(PROFILE, "notion")
    with leak_checked_notion(host_home) as notion:
        write_config(host_home, notion_config(notion))
        host = keychain_host(host_home, secret_service)
        opened = browser(host)
        assert host.result("server.connect", server="notion", timeout=60)["state"] == "connected"
        assert len(opened) == 1
        held = in_keychain(secret_service, entry)
        assert held["backend"] == "keyring.backends.SecretService"
        assert held == {**held, "present": True, "has_refresh_token": True, "has_access_token": True}
        data = host_home / "data"
        assert not (data / "tokens.enc").exists() and not (data / "tokens.key").exists(), "no file store"
        host.close()

        again = keychain_host(host_home, secret_service)
        again.wait_state("notion", "connected", timeout=60)
        assert not any(f["type"] == "auth.open" for f in again.frames), "signed in from the keychain"
        assert again.result("tool.call", server="notion", tool="notion-get-users")["isError"] is False

        assert again.result("server.disconnect", server="notion")["revoked"] is True
        assert in_keychain(secret_service, entry)["present"] is False
        again.close()


def test_the_model_key_is_kept_in_the_real_keychain(secret_service, host_home):
    write_config(host_home, [])
    host = keychain_host(host_home, secret_service)
    key = "sk-keychain-" + os.urandom(8).hex()
    assert host.result("llm.configure", base_url="https://example.com/v1", model="m", api_key=key)[
        "has_api_key"
    ]
    host.close()
    again = keychain_host(host_home, secret_service)
    assert again.result("config.get")["llm"]["has_api_key"] is True, "found again after a restart"
    files = [p for p in host_home.rglob("*") if p.is_file()]
    assert files and not [p for p in files if key.encode() in p.read_bytes()]
