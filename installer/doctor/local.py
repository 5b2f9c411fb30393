"""This computer's side of the bridge: the keychain tokens go to, the configuration, and whether each
configured server can be reached (remote) or started (local). Only reads; needs no network, as an unreachable
server is a warning."""

from __future__ import annotations

import os
import shutil
import sys
import threading
import time
from typing import Any

from installer.doctor.host_check import MINIMAL_PATH
from installer.doctor.report import Check

SERVERS_TIMEOUT_S = 3.0


def check_keychain() -> Check:
    fallback = "tokens would fall back to an encrypted file protected only by file permissions"
    fix = {
        "linux": "install and unlock a Secret Service keychain (GNOME Keyring or KWallet), or accept the file",
        "darwin": "unlock the login keychain, or accept the file",
    }.get(sys.platform, "check Windows Credential Manager, or accept the file")
    try:
        import keyring

        backend = keyring.get_keyring()
    except Exception as exc:
        return Check(
            "keychain", "warn", f"keyring could not load a backend ({type(exc).__name__}); {fallback}", fix
        )
    kind = type(backend)
    name = f"{kind.__module__}.{kind.__name__}"
    inner = getattr(backend, "backends", None)
    unusable = "fail" in kind.__module__ or "null" in kind.__module__.lower() or inner == []
    if unusable:
        return Check("keychain", "warn", f"no usable keychain (keyring backend {name}); {fallback}", fix)
    detail = f"keyring backend {name}"
    if inner:
        detail += " (" + ", ".join(type(x).__name__ for x in inner) + ")"
    if os.environ.get("NOTION_BRIDGE_TOKEN_STORE") == "file":
        detail += "; NOTION_BRIDGE_TOKEN_STORE=file in this shell forces the encrypted file here"
    return Check("keychain", "ok", detail)


def check_config() -> tuple[Check, Any]:
    """Read the configuration without touching it (the host would move a broken file aside; doctor does not)."""
    from host import config as config_store
    from host import paths

    path = paths.config_file()
    if not path.exists():
        return Check("config", "ok", f"no configuration yet ({path}); the defaults are in use"), (
            config_store.default_config()
        )
    try:
        config = config_store.Config.model_validate_json(path.read_text(encoding="utf-8"))
    except OSError as exc:
        return Check(
            "config", "fail", f"{path} cannot be read ({exc.strerror})", "check its permissions"
        ), None
    except ValueError as exc:
        errors = getattr(exc, "errors", None)
        first = errors()[0] if callable(errors) and errors() else None
        where = ".".join(str(p) for p in first["loc"]) if first else ""
        why = f"{where}: {first['msg']}" if first else str(exc).splitlines()[0]
        return Check(
            "config",
            "fail",
            f"{path} is not a valid configuration ({why})",
            "fix it by hand, or delete it to start again from the defaults (the host would move it aside)",
        ), None
    return Check("config", "ok", f"{path}: {len(config.servers)} server(s) configured"), config


def check_servers(config: Any, platform: str) -> list[Check]:
    if config is None:
        return []
    results: dict[str, Check] = {}
    threads = []
    for server in config.servers:
        if server.kind == "stdio":
            results[server.id] = _check_stdio(server, platform)
            continue
        results[server.id] = Check(
            f"server {server.id}", "warn", f"{server.url} gave no answer within {SERVERS_TIMEOUT_S:g} s",
            "check the network or the URL",
        )  # fmt: skip
        thread = threading.Thread(target=_check_remote, args=(server, results), daemon=True)
        thread.start()
        threads.append(thread)
    deadline = time.monotonic() + SERVERS_TIMEOUT_S
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    checks = [results[server.id] for server in config.servers]
    for server, check in zip(config.servers, checks, strict=True):
        if not server.enabled:
            check.detail += " (this server is switched off)"
            if check.status == "fail":
                check.status = "warn"
    return checks


def _check_stdio(server: Any, platform: str) -> Check:
    name = f"server {server.id}"
    if server.builtin == "sqlite":
        return Check(name, "ok", f"built-in SQLite server on {server.db_path}")
    program = server.command[0]
    fix = "fix the command in the options page: give the program's absolute path"
    if os.path.isabs(program):
        if os.path.isfile(program) and os.access(program, os.X_OK):
            return Check(name, "ok", f"command {program} found")
        return Check(name, "fail", f"command {program} does not exist or is not executable", fix)
    search_path = server.env.get("PATH") or os.environ.get("PATH")
    found = shutil.which(program, path=search_path)
    if found is None:
        return Check(name, "fail", f"command {program} is not on PATH", "install it, or " + fix)
    if platform != "win32" and "PATH" not in server.env:
        minimal = MINIMAL_PATH + (":/usr/local/bin" if platform == "linux" else "")
        if shutil.which(program, path=minimal) is None:
            return Check(
                name,
                "warn",
                f"command {program} is {found} in this shell's PATH, but the browser may start the host with "
                "a shorter PATH that lacks it",
                f"use the absolute path {found} in the server's command (options page)",
            )
    return Check(name, "ok", f"command {program} found at {found}")


def _check_remote(server: Any, results: dict[str, Check]) -> None:
    import httpx2 as httpx  # the host's HTTP client, trusting the OS's roots as the host does

    name = f"server {server.id}"
    try:
        response = httpx.post(
            server.url,
            json={"jsonrpc": "2.0", "id": 0, "method": "ping"},
            headers={"Accept": "application/json, text/event-stream"},
            timeout=SERVERS_TIMEOUT_S - 0.5,
        )
    except httpx.HTTPError as exc:
        results[server.id] = Check(
            name,
            "warn",
            f"{server.url} is unreachable ({type(exc).__name__})",
            "check the network or the URL",
        )
        return
    status = response.status_code
    response.close()
    if status == 401:
        results[server.id] = Check(
            name,
            "ok",
            f"{server.url} answers; it needs sign-in (401): press Connect in the extension's popup",
        )
    elif status < 500:
        results[server.id] = Check(name, "ok", f"{server.url} answers (HTTP {status})")
    else:
        results[server.id] = Check(
            name, "warn", f"{server.url} answered HTTP {status}", "the server has trouble; try again later"
        )
