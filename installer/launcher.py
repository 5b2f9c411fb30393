"""The launcher the manifest points at: it runs this environment's interpreter with the host module.

Browsers start native hosts with a minimal PATH (macOS GUI apps get /usr/bin:/bin), so the launcher names the
interpreter by absolute path and never relies on ``python`` or ``notion-bridge`` being found.

It passes the browser's environment through untouched, with one exception: ``install --home DIR`` bakes
``NOTION_BRIDGE_HOME=DIR`` into it, because the browser will never have that variable set. A
``NOTION_BRIDGE_HOME`` that merely happens to be set in the installing shell is not copied in silently;
install refuses instead and asks for ``--home`` (see install.py).

A Flatpak browser runs the launcher inside its sandbox, where this interpreter does not exist, so that
launcher hands the command to the host system with ``flatpak-spawn --host``.
"""

from __future__ import annotations

import os
import shlex
import stat
from dataclasses import dataclass
from pathlib import Path

BASE_NAME = "notion-bridge-host"
_HEADER = "Notion MCP Bridge: the browser starts this for the extension. Written by `notion-bridge install`."


def file_name(platform: str) -> str:
    # Chrome on Windows starts .bat/.cmd hosts through cmd.exe; elsewhere the file must be executable.
    return BASE_NAME + (".cmd" if platform == "win32" else "")


@dataclass(frozen=True)
class LaunchSpec:
    """What a launcher runs, read back from its text (doctor uses it to name a vanished interpreter)."""

    interpreter: str
    home: str | None = None
    flatpak: bool = False


def render(platform: str, *, interpreter: str, home: Path | None = None, flatpak: bool = False) -> str:
    if platform == "win32":
        return _render_cmd(interpreter, home)
    lines = ["#!/bin/sh", f"# {_HEADER}"]
    if flatpak:
        # flatpak-spawn does not carry the sandbox's environment across, so the home travels as --env.
        # --watch-bus ends the host if the browser goes away without closing its stdin.
        command = ["flatpak-spawn", "--host", "--watch-bus"]
        if home is not None:
            command.append(f"--env=NOTION_BRIDGE_HOME={home}")
        lines.append(f'exec {shlex.join([*command, interpreter, "-m", "host"])} "$@"')
    else:
        if home is not None:
            lines += [f"NOTION_BRIDGE_HOME={shlex.quote(str(home))}", "export NOTION_BRIDGE_HOME"]
        lines.append(f'exec {shlex.join([interpreter, "-m", "host"])} "$@"')
    return "\n".join(lines) + "\n"


def _cmd_escape(value: str) -> str:
    # cmd.exe expands %VAR% even inside quotes.
    return value.replace("%", "%%")


def _render_cmd(interpreter: str, home: Path | None) -> str:
    lines = ["@echo off", f"rem {_HEADER}"]
    if home is not None:
        lines.append(f'set "NOTION_BRIDGE_HOME={_cmd_escape(str(home))}"')
    # %* passes the caller's origin and Chrome's --parent-window=N through.
    lines.append(f'"{_cmd_escape(interpreter)}" -m host %*')
    return "\r\n".join(lines) + "\r\n"


def parse(text: str) -> LaunchSpec | None:
    """The launcher's command, when the text is one this module wrote; None for anything else."""
    if text.startswith("@echo off"):
        return _parse_cmd(text)
    home: str | None = None
    for line in text.splitlines():
        if line.startswith("NOTION_BRIDGE_HOME="):
            home = shlex.split(line)[0].partition("=")[2]
        if not line.startswith("exec "):
            continue
        words = shlex.split(line)[1:]
        flatpak = bool(words) and words[0] == "flatpak-spawn"
        if flatpak:
            words = words[1:]
            while words and words[0].startswith("--"):
                if words[0].startswith("--env=NOTION_BRIDGE_HOME="):
                    home = words[0].partition("=")[2].partition("=")[2]
                words = words[1:]
        if len(words) == 4 and words[1:] == ["-m", "host", "$@"]:
            return LaunchSpec(words[0], home, flatpak)
        return None
    return None


def _parse_cmd(text: str) -> LaunchSpec | None:
    home: str | None = None
    for line in text.splitlines():
        if line.startswith('set "NOTION_BRIDGE_HOME=') and line.endswith('"'):
            home = line[len('set "NOTION_BRIDGE_HOME=') : -1].replace("%%", "%")
        if line.startswith('"') and line.endswith('" -m host %*'):
            return LaunchSpec(line[1 : -len('" -m host %*')].replace("%%", "%"), home)
    return None


def is_executable(path: Path, platform: str) -> bool:
    if not path.is_file():
        return False
    if platform == "win32":
        return path.suffix.lower() in {".cmd", ".bat", ".exe"}
    return bool(path.stat().st_mode & stat.S_IXUSR) and os.access(path, os.X_OK)
