"""The Windows registry behind a small interface, so install, uninstall and doctor are testable anywhere.

Keys are full paths such as ``HKEY_CURRENT_USER\\Software\\Google\\Chrome\\NativeMessagingHosts\\<name>``; the
only value used is each key's (Default) value, which holds the manifest's path.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Protocol


class Registry(Protocol):
    def exists(self, key: str) -> bool: ...
    def is_empty(self, key: str) -> bool:
        """No subkeys and no values: safe to delete without taking anything else with it."""
        ...

    def set_default(self, key: str, value: str) -> None:
        """Set the (Default) value, creating the key and any missing parents."""
        ...

    def get_default(self, key: str) -> str | None: ...
    def delete(self, key: str) -> None:
        """Delete one key that has no subkeys; a missing key is not an error."""
        ...


def parent_keys(key: str) -> list[str]:
    """The key's ancestors below the hive and Software, nearest first."""
    parts = key.split("\\")
    return ["\\".join(parts[:end]) for end in range(len(parts) - 1, 2, -1)]


def _winreg() -> Any:
    # Imported by name so the module imports and type-checks on Linux and macOS, where tests use the fake.
    return importlib.import_module("winreg")


class WindowsRegistry:
    """The real registry, through winreg."""

    def _split(self, key: str) -> tuple[int, str]:
        root, _, path = key.partition("\\")
        return getattr(_winreg(), root), path

    def exists(self, key: str) -> bool:
        winreg = _winreg()
        root, path = self._split(key)
        try:
            with winreg.OpenKey(root, path):
                return True
        except OSError:
            return False

    def is_empty(self, key: str) -> bool:
        winreg = _winreg()
        root, path = self._split(key)
        try:
            with winreg.OpenKey(root, path) as handle:
                subkeys, values, _ = winreg.QueryInfoKey(handle)
                return bool(subkeys == 0 and values == 0)
        except OSError:
            return False

    def set_default(self, key: str, value: str) -> None:
        winreg = _winreg()
        root, path = self._split(key)
        with winreg.CreateKeyEx(root, path, 0, winreg.KEY_WRITE) as handle:
            winreg.SetValueEx(handle, "", 0, winreg.REG_SZ, value)

    def get_default(self, key: str) -> str | None:
        winreg = _winreg()
        root, path = self._split(key)
        try:
            with winreg.OpenKey(root, path) as handle:
                return str(winreg.QueryValueEx(handle, "")[0])
        except OSError:
            return None

    def delete(self, key: str) -> None:
        winreg = _winreg()
        root, path = self._split(key)
        with contextlib.suppress(FileNotFoundError):
            winreg.DeleteKey(root, path)


class MemoryRegistry:
    """An in-memory registry for tests: keys are case-insensitive, as Windows' are."""

    def __init__(self) -> None:
        self.keys: dict[str, str | None] = {}
        """Every key that exists (lower-cased) and its (Default) value, None when unset."""

    def exists(self, key: str) -> bool:
        return key.lower() in self.keys

    def is_empty(self, key: str) -> bool:
        name = key.lower()
        if name not in self.keys or self.keys[name] is not None:
            return False
        return not any(other.startswith(name + "\\") for other in self.keys)

    def set_default(self, key: str, value: str) -> None:
        for parent in parent_keys(key):
            self.keys.setdefault(parent.lower(), None)
        self.keys[key.lower()] = value

    def get_default(self, key: str) -> str | None:
        return self.keys.get(key.lower())

    def delete(self, key: str) -> None:
        name = key.lower()
        if any(other.startswith(name + "\\") for other in self.keys):
            raise OSError(f"{key} has subkeys")
        self.keys.pop(name, None)
