"""The host itself, started the way the browser starts it: through the manifest's launcher, from the
launcher's folder, with the caller's origin as its argument, without the shell's NOTION_BRIDGE_HOME and (on
Linux and macOS) with a minimal PATH. It must say hello, over real frames, within HELLO_TIMEOUT_S."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from host import EXTENSION_ID, PROTOCOL_VERSION, framing
from installer import manifest as manifests
from installer.doctor.report import Check

HELLO_TIMEOUT_S = 2.0
EXIT_TIMEOUT_S = 3.0
# macOS starts GUI apps with PATH=/usr/bin:/bin:/usr/sbin:/sbin; Linux desktop sessions add /usr/local/bin.
MINIMAL_PATH = "/usr/bin:/bin:/usr/sbin:/sbin"


def browser_env(extra: dict[str, str]) -> dict[str, str]:
    """The environment a browser starts its host with: ours without NOTION_BRIDGE_HOME, a minimal PATH."""
    child = {k: v for k, v in os.environ.items() if k != "NOTION_BRIDGE_HOME"}
    if sys.platform != "win32":
        child["PATH"] = MINIMAL_PATH
    child.update(extra)
    return child


def check_hello(
    command: list[str], name: str, *, cwd: Path, extra_env: dict[str, str] | None = None
) -> Check:
    """Start the host as the browser does and wait for its hello over real framing."""
    origin = manifests.origin(EXTENSION_ID)
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            [*command, origin],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=browser_env(extra_env or {}),
        )
    except OSError as exc:
        return Check(
            name,
            "fail",
            f"{command[0]} could not be started ({exc.strerror})",
            "run `notion-bridge install` again",
        )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    out, err = proc.stdout, proc.stderr
    answer: dict[str, Any] = {}
    stderr: list[bytes] = []

    def read_stdout() -> None:
        try:
            # The host never sends more than MAX_OUTGOING in a frame: a bigger header is stray output.
            answer["frame"] = framing.read_frame(out, limit=framing.MAX_OUTGOING, skip_too_large=False)
        except Exception as exc:
            answer["error"] = exc

    def read_stderr() -> None:
        # Keep only the tail: enough to name the error, never enough to fill memory.
        for line in err:
            stderr.append(line)
            del stderr[:-20]

    readers = [threading.Thread(target=f, daemon=True) for f in (read_stdout, read_stderr)]
    for reader in readers:
        reader.start()
    readers[0].join(HELLO_TIMEOUT_S)
    elapsed = time.monotonic() - started
    # What arrived in time; the EOF that follows closing stdin or killing the host is not the host's answer.
    arrived = dict(answer)
    with contextlib.suppress(OSError):
        proc.stdin.close()  # EOF on stdin is how the browser says goodbye
    try:
        proc.wait(EXIT_TIMEOUT_S)
        lingered = False
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        lingered = True
    readers[1].join(0.5)
    last_error = next(
        (line.decode(errors="replace").strip() for line in reversed(stderr) if line.strip()), ""
    )
    frame = arrived.get("frame")
    if frame is not None:
        return _judge_first_frame(frame, name, elapsed, lingered)
    if "error" in arrived:
        error = arrived["error"]
        if isinstance(error, framing.EndOfStream):
            detail = f"the host exited before saying hello (exit code {proc.returncode})"
            return Check(
                name,
                "fail",
                detail + (f": {last_error}" if last_error else ""),
                "run the launcher by hand to see the whole error; if Python cannot import host, "
                "reinstall the package and run `notion-bridge install` again",
            )
        return Check(
            name,
            "fail",
            f"the host's output is not native-messaging frames: {error}",
            "something prints to stdout before the host starts (a shell profile, a sitecustomize); remove it",
        )
    return Check(
        name,
        "fail",
        f"no hello within {HELLO_TIMEOUT_S:g} s"
        + (f"; last error output: {last_error}" if last_error else ""),
        "the host is stuck or very slow to start; look at its log (notion-bridge host's logs folder)",
    )


def _judge_first_frame(frame: dict[str, Any], name: str, elapsed: float, lingered: bool) -> Check:
    if frame.get("type") == "error":
        error = frame.get("error") or {}
        code = error.get("code") if isinstance(error, dict) else None
        message = error.get("message") if isinstance(error, dict) else error
        if code == "forbidden_origin":
            return Check(
                name,
                "fail",
                f"the host refused the extension's origin: {message}",
                "the launcher runs a host that does not know this extension's ID; reinstall the package "
                "and run `notion-bridge install` again",
            )
        return Check(
            name, "fail", f"the host answered with an error: {code}: {message}", "see the host's log"
        )
    if frame.get("type") != "hello":
        return Check(
            name,
            "fail",
            f"the host's first frame was {frame.get('type')!r}, not a hello",
            "the launcher starts something other than this version's host; run `notion-bridge install` again",
        )
    if frame.get("protocol") != PROTOCOL_VERSION:
        return Check(
            name,
            "fail",
            f"the host speaks protocol {frame.get('protocol')}, the extension protocol {PROTOCOL_VERSION}",
            "update the package and the extension together, then run `notion-bridge install` again",
        )
    detail = (
        f"hello from host {frame.get('host_version')} (protocol {frame.get('protocol')}) in {elapsed:.2f} s"
    )
    if lingered:
        return Check(
            name,
            "warn",
            detail + f", but it did not exit within {EXIT_TIMEOUT_S:g} s of its stdin closing",
            "see the host's log; a host that outlives the browser's port holds its servers open",
        )
    return Check(name, "ok", detail)
