"""The install record: exactly what install wrote, so uninstall removes that and nothing else.

Each entry remembers which browsers use it (on Windows, Brave, Vivaldi and Opera share Google Chrome's key),
so ``uninstall --browser brave`` leaves what Chrome still needs. Files carry the SHA-256 of what was written
and registry keys the value that was set: something changed since install belongs to someone else now and
is left alone. Folders and registry keys that install had to create are listed too, and go once empty.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from host.atomic import write_atomic
from installer.errors import InstallError

Kind = Literal["launcher", "manifest", "registry"]
FILE_NAME = "install-record.json"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Entry:
    kind: Kind
    path: str
    """A file's path, or a registry key."""
    browsers: list[str] = field(default_factory=list)
    sha256: str | None = None
    value: str | None = None
    """A registry key's (Default) value as set: the manifest's path."""
    launcher: str | None = None
    """For manifests and registry keys: the launcher they lead to, which stays while anything uses it."""
    profile: str | None = None
    """For manifests written into a ``--user-data-dir`` profile folder."""
    registry_key: str | None = None
    """For Windows manifests: the key that names them."""
    flatpak_id: str | None = None


@dataclass
class Record:
    entries: list[Entry] = field(default_factory=list)
    created_dirs: list[str] = field(default_factory=list)
    created_keys: list[str] = field(default_factory=list)

    def find(self, kind: Kind, path: str) -> Entry | None:
        return next((e for e in self.entries if e.kind == kind and e.path == path), None)

    def put(self, entry: Entry) -> Entry:
        """Add an entry, or merge it into the one for the same thing (browsers accumulate)."""
        current = self.find(entry.kind, entry.path)
        if current is None:
            self.entries.append(entry)
            return entry
        browsers = list(dict.fromkeys([*current.browsers, *entry.browsers]))
        for name, value in asdict(entry).items():
            setattr(current, name, value)
        current.browsers = browsers
        return current

    def add_dir(self, path: Path) -> None:
        if str(path) not in self.created_dirs:
            self.created_dirs.append(str(path))

    def add_key(self, key: str) -> None:
        if key not in self.created_keys:
            self.created_keys.append(key)

    def empty(self) -> bool:
        return not (self.entries or self.created_dirs or self.created_keys)

    @classmethod
    def load(cls, path: Path) -> Record:
        if not path.exists():
            return cls()
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                entries=[Entry(**entry) for entry in data["entries"]],
                created_dirs=list(data.get("created_dirs", [])),
                created_keys=list(data.get("created_keys", [])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise InstallError(
                f"the install record {path} cannot be read ({exc}); move it aside and run "
                "`notion-bridge install` again, then `notion-bridge uninstall`"
            ) from None

    def save(self, path: Path) -> None:
        if self.empty():
            path.unlink(missing_ok=True)
            return
        text = json.dumps({"version": 1, **asdict(self)}, indent=2) + "\n"
        write_atomic(path, text.encode("utf-8"), mode=0o644)
