"""What the installer writes: the launcher, the manifests, and a record of both for uninstall."""

from __future__ import annotations

import json
import stat
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from host import EXTENSION_ID, HOST_NAME
from host.atomic import write_atomic

TEMPLATE = Path(__file__).resolve().parents[1] / "manifest_templates" / "native-messaging-host.json"
DESCRIPTION = "Notion MCP Bridge: MCP sessions, OAuth and tokens for the browser extension"


def write_text(path: Path, text: str, *, executable: bool = False) -> None:
    # UTF-8 without a BOM: Chrome on Windows rejects a manifest that starts with one.
    write_atomic(path, text.encode("utf-8"), mode=0o755 if executable else 0o644)


def render_manifest(launcher: Path, extra_ids: list[str]) -> str:
    origins = [f"chrome-extension://{ext_id}/" for ext_id in dict.fromkeys([EXTENSION_ID, *extra_ids])]
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in {
        "{name}": HOST_NAME,
        "{description}": DESCRIPTION,
        "{path}": json.dumps(str(launcher))[1:-1],
        "{allowed_origins}": json.dumps(origins),
    }.items():
        text = text.replace(key, value)
    json.loads(text)  # a template that renders to invalid JSON is a bug here, not the browser's problem
    return text


def launcher_text(platform: str, *, home: Path | None, flatpak: bool = False) -> str:
    """A launcher that runs this environment's interpreter with the host module, whatever the browser's PATH."""
    python = sys.executable
    if platform == "win32":
        lines = ["@echo off"]
        if home is not None:
            lines.append(f'set "NOTION_BRIDGE_HOME={home}"')
        lines.append(f'"{python}" -m host %*')
        return "\r\n".join(lines) + "\r\n"
    lines = ["#!/bin/sh", "# Started by the browser for the Notion MCP Bridge extension."]
    if home is not None:
        lines.append(f"export NOTION_BRIDGE_HOME='{home}'")
    prefix = "flatpak-spawn --host " if flatpak else ""
    env = f"env NOTION_BRIDGE_HOME='{home}' " if (flatpak and home is not None) else ""
    lines.append(f'exec {prefix}{env}"{python}" -m host "$@"')
    return "\n".join(lines) + "\n"


def is_executable(path: Path) -> bool:
    return path.is_file() and (sys.platform == "win32" or bool(path.stat().st_mode & stat.S_IXUSR))


@dataclass
class InstallRecord:
    """Exactly what install wrote, so uninstall removes that and nothing else."""

    files: list[str] = field(default_factory=list)
    registry_keys: list[str] = field(default_factory=list)

    def add_file(self, path: Path) -> None:
        if str(path) not in self.files:
            self.files.append(str(path))

    def add_key(self, key: str) -> None:
        if key not in self.registry_keys:
            self.registry_keys.append(key)

    @classmethod
    def load(cls, path: Path) -> InstallRecord:
        if not path.exists():
            return cls()
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(files=list(data.get("files", [])), registry_keys=list(data.get("registry_keys", [])))

    def save(self, path: Path) -> None:
        write_text(path, json.dumps(asdict(self), indent=2) + "\n")
