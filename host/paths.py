"""Where the host keeps its files.

``NOTION_BRIDGE_HOME`` puts everything (config, data, logs, tokens) under one folder, which is what the
tests and the demo use; otherwise each kind of file goes to the platform's usual place.
"""

from __future__ import annotations

import os
from pathlib import Path

APP_NAME = "notion-mcp-bridge"


def _home_override() -> Path | None:
    value = os.environ.get("NOTION_BRIDGE_HOME")
    return Path(value).expanduser().resolve() if value else None


def _ensure(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_dir() -> Path:
    if (home := _home_override()) is not None:
        return _ensure(home / "config")
    import platformdirs

    return _ensure(Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)))


def data_dir() -> Path:
    if (home := _home_override()) is not None:
        return _ensure(home / "data")
    import platformdirs

    return _ensure(Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)))


def log_dir(create: bool = True) -> Path:
    """Where the host logs; ``create=False`` only names it (doctor and ``notion-bridge logs`` only read)."""
    ensure = _ensure if create else (lambda path: path)
    if (home := _home_override()) is not None:
        return ensure(home / "logs")
    import platformdirs

    return ensure(Path(platformdirs.user_log_dir(APP_NAME, appauthor=False)))


def config_file() -> Path:
    return config_dir() / "config.json"


def sample_database() -> Path:
    return data_dir() / "sample.db"
