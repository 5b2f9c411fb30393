"""Signing a host in to the Notion-compatible server, as the extension would, and checking no token leaks.

Shared by the OAuth suites: ``leak_checked_notion`` runs the server with OAuth on and, whatever the test
did, scans every host started with ``start`` for any token the server ever issued.
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from dev_notion.testing import DevNotionProcess, answer_consent
from devkit.host_process import HostProcess
from host.token_store import Credentials, EncryptedFileBackend, TokenStore

PROFILE = "profile-aaaaaaaa"

_HOSTS: list[HostProcess] = []


@contextlib.contextmanager
def leak_checked_notion(host_home: Path) -> Iterator[DevNotionProcess]:
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as server:
        yield server
        # Whatever the test did, no token the server ever issued may appear in a frame, a log line or stderr.
        issued = server.admin("issued-tokens")["tokens"]
        hosts, _HOSTS[:] = list(_HOSTS), []
        for host in hosts:
            if host.proc.poll() is None:
                host.close()
            assert scan_for(host_home, host, issued) == [], "a token value leaked"


def notion_config(server: DevNotionProcess, **fields: object) -> list[dict]:
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


def start(home: Path, **kwargs: object) -> HostProcess:
    host = HostProcess(home, **kwargs)  # type: ignore[arg-type]
    _HOSTS.append(host)
    assert host.result("hello", profile_id=PROFILE)["token_storage"] == "encrypted-file"
    return host


def browser(
    host: HostProcess,
    decision: str = "allow",
    *,
    tamper_state: bool = False,
    tamper_iss: bool = False,
    error: str | None = None,
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
        if tamper_iss:
            assert "iss=" in redirect, "the server names its issuer"
            redirect = re.sub(r"iss=[^&]*", "iss=http%3A%2F%2Fmix-up.example", redirect)
        host.result("auth.result", auth_id=event["auth_id"], redirect_url=redirect)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return opened


def stored_credentials(home: Path) -> Credentials | None:
    return TokenStore(EncryptedFileBackend(home / "data")).load(PROFILE, "notion")


def stored_secrets(home: Path) -> list[str]:
    credentials = stored_credentials(home)
    return credentials.secrets() if credentials else []


def scan_for(home: Path, host: HostProcess, secrets: list[str]) -> list[str]:
    """Where any of the secrets appears: frames to the extension, the log, stderr."""
    frames = json.dumps(host.frames)
    logs = "".join(p.read_text(errors="replace") for p in (home / "logs").glob("*"))
    stderr = "\n".join(host.stderr_lines)
    return [
        where
        for where, text in (("frames", frames), ("log", logs), ("stderr", stderr))
        for s in secrets
        if s in text
    ]
