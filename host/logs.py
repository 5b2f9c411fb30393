"""Logging for the host: a rotating file under the log folder, and stderr (which Chrome can capture)."""

from __future__ import annotations

import logging
import logging.handlers
import os

from host import paths

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def setup_logging() -> None:
    level = os.environ.get("NOTION_BRIDGE_LOG_LEVEL", "INFO").upper()
    root = logging.getLogger()
    root.setLevel(level)
    file_handler = logging.handlers.RotatingFileHandler(
        paths.log_file(), maxBytes=2 * 1024 * 1024, backupCount=3, encoding="utf-8"
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
