"""``notion-bridge doctor``: check every link between the browser and the host, and say how to fix each break.

Each check is ok, warn (works, but a person should know) or fail (the bridge will not work), and every warn
or fail names the cause and the fix. ``--json`` output is safe to paste into a bug report: the home folder
becomes ``~`` and anything shaped like a token is redacted.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from host import EXTENSION_ID, HOST_NAME
from installer import browsers as b
from installer.artifacts import InstallRecord, is_executable
from installer.install import Options, plan, record_path

Status = Literal["ok", "warn", "fail"]
HELLO_TIMEOUT_S = 2.0


@dataclass
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def check_manifest(manifest: Path, browser: str) -> tuple[list[Check], Path | None]:
    """The manifest file's own checks; returns the launcher path when the manifest names a usable one."""
    label = f"{browser}: manifest"
    if not manifest.exists():
        return [Check(label, "fail", f"no manifest at {manifest}", "run `notion-bridge install`")], None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        return [
            Check(label, "fail", f"{manifest} is not valid JSON ({exc})", "run `notion-bridge install` again")
        ], None
    checks = [Check(label, "ok", str(manifest))]
    if data.get("name") != HOST_NAME or manifest.stem != HOST_NAME:
        checks.append(
            Check(
                f"{browser}: name",
                "fail",
                f"name {data.get('name')!r} does not match {HOST_NAME!r} and the file name",
                "run `notion-bridge install` again",
            )
        )
    origin = f"chrome-extension://{EXTENSION_ID}/"
    if origin not in (data.get("allowed_origins") or []):
        checks.append(
            Check(
                f"{browser}: origin",
                "fail",
                f"allowed_origins lacks {origin}; the extension would be refused",
                "run `notion-bridge install` again (add --extension-id ID for another build of the extension)",
            )
        )
    else:
        checks.append(Check(f"{browser}: origin", "ok", origin))
    path = Path(str(data.get("path", "")))
    if not path.is_absolute():
        checks.append(
            Check(
                f"{browser}: launcher",
                "fail",
                f"path {path} is not absolute",
                "run `notion-bridge install` again",
            )
        )
        return checks, None
    if not path.exists():
        checks.append(
            Check(
                f"{browser}: launcher", "fail", f"{path} does not exist", "run `notion-bridge install` again"
            )
        )
        return checks, None
    if not is_executable(path):
        checks.append(
            Check(
                f"{browser}: launcher",
                "fail",
                f"{path} is not executable",
                f"chmod +x {path}, or install again",
            )
        )
        return checks, None
    checks.append(Check(f"{browser}: launcher", "ok", str(path)))
    return checks, path


def check_hello(launcher: Path) -> Check:
    """Start the launcher as the browser would and wait for the host's hello over real framing."""
    from host.framing import EndOfStream, FrameError, read_frame

    label = "host answers hello"
    try:
        proc = subprocess.Popen(
            [str(launcher), f"chrome-extension://{EXTENSION_ID}/"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as exc:
        return Check(label, "fail", f"{launcher} could not start: {exc}", "run `notion-bridge install` again")
    answer: dict[str, Any] = {}

    def read() -> None:
        try:
            assert proc.stdout is not None
            answer["frame"] = read_frame(proc.stdout)
        except (EndOfStream, FrameError, OSError) as exc:
            answer["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(HELLO_TIMEOUT_S)
    try:
        proc.stdin.close() if proc.stdin else None
        proc.wait(3)
    except subprocess.TimeoutExpired:
        proc.kill()
    stderr = (
        (proc.stderr.read().decode(errors="replace").strip().splitlines() or [""])[-1] if proc.stderr else ""
    )
    frame = answer.get("frame")
    if frame and frame.get("type") == "hello":
        return Check(
            label, "ok", f"hello from host {frame.get('host_version')} (protocol {frame.get('protocol')})"
        )
    if frame:
        return Check(
            label,
            "fail",
            f"the host's first frame was {frame}",
            "check the log with `notion-bridge doctor --json`",
        )
    if "error" in answer:
        detail = f"the host exited before saying hello (exit {proc.returncode})" + (
            f": {stderr}" if stderr else ""
        )
        return Check(
            label,
            "fail",
            detail,
            "run the launcher by hand to see the error; reinstall the package if it cannot import",
        )
    return Check(
        label, "fail", f"no hello within {HELLO_TIMEOUT_S:g} s", "the host is too slow or stuck; see its log"
    )


def check_keychain() -> Check:
    from host.token_store import choose_backend

    backend = choose_backend()
    if backend.file_only:
        return Check(
            "keychain",
            "warn",
            "no system keychain: tokens would be kept in an encrypted file protected by file permissions only",
            "install and unlock a keychain (GNOME Keyring, KWallet) or accept the file store",
        )
    return Check("keychain", "ok", backend.name)


def check_config() -> tuple[Check, Any]:
    from host import config as config_store

    try:
        config = config_store.load()
    except config_store.ConfigError as exc:
        return Check(
            "config", "fail", str(exc), "fix or remove the moved-aside file; the defaults are in use"
        ), None
    return Check("config", "ok", f"{len(config.servers)} server(s) configured"), config


def check_servers(config: Any) -> list[Check]:
    import httpx

    checks = []
    for server in config.servers if config is not None else []:
        label = f"server {server.id}"
        if server.kind == "stdio":
            if server.builtin == "sqlite":
                checks.append(Check(label, "ok", f"built-in SQLite on {server.db_path}"))
            elif server.command and (shutil.which(server.command[0]) or Path(server.command[0]).exists()):
                checks.append(Check(label, "ok", f"command {server.command[0]} found"))
            else:
                first = server.command[0] if server.command else "(none)"
                checks.append(
                    Check(label, "fail", f"command {first} not found", "fix the command in the options page")
                )
            continue
        try:
            response = httpx.post(
                server.url,
                json={"jsonrpc": "2.0", "id": 0, "method": "ping"},
                timeout=3,
                headers={"Accept": "application/json, text/event-stream"},
            )
        except httpx.HTTPError as exc:
            checks.append(
                Check(
                    label,
                    "warn",
                    f"{server.url} unreachable ({type(exc).__name__})",
                    "check the network or the URL",
                )
            )
            continue
        if response.status_code == 401:
            checks.append(
                Check(label, "ok", f"{server.url} reachable; needs sign-in (press Connect in the popup)")
            )
        elif response.status_code < 500:
            checks.append(Check(label, "ok", f"{server.url} reachable (HTTP {response.status_code})"))
        else:
            checks.append(
                Check(label, "warn", f"{server.url} answered HTTP {response.status_code}", "try again later")
            )
    return checks


def run_doctor(env: b.Environment, options: Options) -> list[Check]:
    checks: list[Check] = []
    record = InstallRecord.load(record_path())
    manifests = [Path(f) for f in record.files if f.endswith(".json")]
    targets = plan(env, options).targets
    wanted = {t.manifest: t.browser.name for t in targets}
    if options.user_data_dir is None and not options.browsers:
        wanted.update({m: m.parent.parent.name for m in manifests if m not in wanted})
    if not wanted:
        checks.append(
            Check("browsers", "fail", "no browser to check", "install a browser or name one with --browser")
        )
    tried: set[Path] = set()
    for manifest, browser in wanted.items():
        found, launcher = check_manifest(manifest, browser)
        checks += found
        if launcher is not None and launcher not in tried:
            tried.add(launcher)
            checks.append(check_hello(launcher))
    checks.append(check_keychain())
    config_check, config = check_config()
    checks.append(config_check)
    checks += check_servers(config)
    return checks


_TOKENISH = re.compile(r"\b(ntn_|secret_|eyJ)[A-Za-z0-9._\-]{8,}|\b[A-Za-z0-9_\-]{40,}\b")


def redact(text: str, home: Path) -> str:
    text = text.replace(str(home), "~")
    return _TOKENISH.sub("[redacted]", text)


def report(checks: list[Check], *, as_json: bool, home: Path) -> str:
    if as_json:
        return redact(json.dumps({"checks": [asdict(c) for c in checks]}, indent=2), home)
    marks = {"ok": "✓", "warn": "!", "fail": "✗"}
    lines = []
    for check in checks:
        lines.append(f"{marks[check.status]} {check.name}: {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"    fix: {check.fix}")
    return "\n".join(lines)
