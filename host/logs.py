"""Logging for the host: a file of its own under the log folder, and stderr (which Chrome can capture).

Every host process writes its own file, ``host-<start time>-<pid>.log``. Two browser profiles mean two hosts at
once, and a log file shared between processes cannot be rotated safely: RotatingFileHandler renames the file
under the other process's feet, which then writes into a rotated file or loses lines (on Windows the rename
fails outright). A file that outgrows ``MAX_BYTES`` rotates once, inside its own process. At start, a host
prunes the folder: files older than ``KEEP_DAYS`` days, and any beyond the newest ``KEEP_FILES``, go, except
those of hosts still running.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import re
import sys
import time
from pathlib import Path

from host import paths

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
KEEP_DAYS = 14
KEEP_FILES = 20
MAX_BYTES = 2 * 1024 * 1024
#: This version's files, and the single shared host.log (with its .1, .2, …) of earlier versions.
PATTERN = "host*.log*"
_PID = re.compile(r"^host-\d{8}-\d{6}-(\d+)\.log(?:\.\d+)?$")


def log_file_name(pid: int, started: float) -> str:
    return f"host-{time.strftime('%Y%m%d-%H%M%S', time.localtime(started))}-{pid}.log"


def log_files(folder: Path) -> list[Path]:
    """The host's log files in ``folder``, newest first (by when they were last written)."""

    def written(path: Path) -> float:
        try:
            return path.stat().st_mtime
        except OSError:
            return 0.0

    found = [path for path in folder.glob(PATTERN) if path.is_file()]
    return sorted(found, key=lambda path: (written(path), path.name), reverse=True)


def _still_running(path: Path) -> bool:
    """Whether the host that writes ``path`` is alive, so its file must stay. Only asked on Linux and macOS:
    on Windows os.kill(pid, 0) would send Ctrl+C, and an open file cannot be deleted there anyway."""
    found = _PID.match(path.name)
    if found is None or sys.platform == "win32":
        return False
    try:
        os.kill(int(found.group(1)), 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, as another user
    return True


def prune(
    folder: Path, now: float | None = None, keep_days: float = KEEP_DAYS, keep_files: int = KEEP_FILES
) -> list[Path]:
    """Delete files older than ``keep_days`` and beyond the newest ``keep_files``; return what went."""
    now = time.time() if now is None else now
    removed = []
    for index, path in enumerate(log_files(folder)):
        try:
            too_old = now - path.stat().st_mtime > keep_days * 86_400
        except OSError:
            continue
        if (index >= keep_files or too_old) and not _still_running(path):
            with contextlib.suppress(OSError):
                path.unlink()
                removed.append(path)
    return removed


def setup_logging() -> Path:
    """Log to this process's own file (returned) and, from WARNING up, to stderr."""
    level = os.environ.get("NOTION_BRIDGE_LOG_LEVEL", "INFO").upper()
    root = logging.getLogger()
    root.setLevel(level)
    folder = paths.log_dir()
    # Leave room for this process's file among the ones kept.
    prune(folder, keep_files=KEEP_FILES - 1)
    target = folder / log_file_name(os.getpid(), time.time())
    file_handler = logging.handlers.RotatingFileHandler(
        target, maxBytes=MAX_BYTES, backupCount=1, encoding="utf-8"
    )
    file_handler.setFormatter(logging.Formatter(_FORMAT))
    root.addHandler(file_handler)
    stderr_handler = logging.StreamHandler()
    stderr_handler.setFormatter(logging.Formatter(_FORMAT))
    stderr_handler.setLevel(logging.WARNING)
    root.addHandler(stderr_handler)
    # The HTTP libraries log every request at INFO, and at DEBUG every byte of it, and filelock every
    # acquire; that is noise in a host that makes many requests and takes a lock for each token read.
    for noisy in ("httpx", "httpx2", "httpcore", "httpcore2", "mcp", "uvicorn", "filelock"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return target
