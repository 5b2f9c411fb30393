"""The Windows registry behind a small interface, so install and uninstall are testable anywhere."""

from __future__ import annotations

import contextlib
import importlib
from typing import Any, Protocol


def _winreg() -> Any:
    # Imported by name so the module also type-checks and imports on Linux and macOS, where tests use the fake.
    return importlib.import_module("winreg")


class Registry(Protocol):
    def set_default(self, key: str, value: str) -> None: ...
    def get_default(self, key: str) -> str | None: ...
    def delete(self, key: str) -> None: ...


class WindowsRegistry:
    """The real registry (winreg). Keys are full paths: HKEY_CURRENT_USER\\Software\\…"""

    def _split(self, key: str) -> tuple[int, str]:
        winreg = _winreg()

        root, _, path = key.partition("\\")
        return getattr(winreg, root), path

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
        with contextlib.suppress(OSError):
            winreg.DeleteKey(root, path)


class MemoryRegistry:
    """An in-memory registry for tests."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def set_default(self, key: str, value: str) -> None:
        self.values[key.lower()] = value

    def get_default(self, key: str) -> str | None:
        return self.values.get(key.lower())

    def delete(self, key: str) -> None:
        self.values.pop(key.lower(), None)
