"""``notion-bridge logs``: the host's log files, newest first, or the newest one followed as it grows.

Each host process writes its own file (host/logs.py). What is shown has anything token-like hidden, so it can
be pasted into a bug report: bearer tokens and Authorization headers, Notion (``ntn_…``) and OpenAI-style
(``sk-…``) keys, JWTs, and the values of access_token, refresh_token, client_secret and their kin.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from pathlib import Path
from typing import TextIO

HIDDEN = "[redacted]"
_HEADER = re.compile(r"(?i)(\b(?:proxy-)?authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+")
_BEARER = re.compile(r"(?i)(\bbearer\s+)[A-Za-z0-9._~+/=-]+")
_PAIRS = re.compile(
    r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|code_verifier|api_key|apikey|"
    r"password|secret)[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
)
_SHAPED = re.compile(
    r"\b(?:ntn_|secret_|sk-|ghp_|xox[abp]-)[A-Za-z0-9_\-]{8,}|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+|"
    r"\b(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{40,}\b"
)


def redact(text: str) -> str:
    """``text`` with every credential and anything shaped like one replaced by ``[redacted]``."""
    for pattern in (_HEADER, _BEARER, _PAIRS):
        text = pattern.sub(lambda m: m.group(1) + HIDDEN, text)
    return _SHAPED.sub(HIDDEN, text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-f",
        "--follow",
        action="store_true",
        help="show the end of the newest log, then each line as it is written",
    )
    parser.add_argument(
        "-n",
        "--lines",
        type=int,
        default=200,
        metavar="N",
        help="the last N lines of each file (0: all of it)",
    )
    parser.add_argument("--home", type=Path, metavar="DIR", help="the --home the installation was made with")
    parser.add_argument("--path", action="store_true", help="only print the folder the logs are in")


def log_folder(home: Path | None) -> Path:
    if home is not None:
        os.environ["NOTION_BRIDGE_HOME"] = str(home.expanduser().resolve())
    from host import paths

    return paths.log_dir(create=False)


def _tail(path: Path, lines: int) -> tuple[list[str], int]:
    """The last ``lines`` lines of ``path`` (all when 0), and the offset its end was at."""
    with path.open("rb") as stream:
        data = stream.read()
    text = data.decode("utf-8", errors="replace").splitlines()
    return (text[-lines:] if lines > 0 else text), len(data)


def _show(path: Path, lines: int, out: TextIO) -> int:
    shown, end = _tail(path, lines)
    for line in shown:
        out.write(redact(line) + "\n")
    return end


def run(args: argparse.Namespace) -> int:
    from host.logs import log_files

    folder = log_folder(args.home)
    if args.path:
        print(folder)
        return 0
    files = log_files(folder) if folder.is_dir() else []
    if not files and not args.follow:
        print(f"no host logs yet in {folder}: the browser has not started the host since it was installed")
        return 0
    if not args.follow:
        for path in files:
            print(f"==> {path} <==")
            _show(path, args.lines, sys.stdout)
            print()
        return 0
    with contextlib.suppress(KeyboardInterrupt):
        follow(folder, args.lines, sys.stdout)
    return 0


def _newest_started(folder: Path) -> Path | None:
    """The file of the host started last (names carry the start time); an earlier version's host.log else."""
    from host.logs import log_files

    files = [path for path in (log_files(folder) if folder.is_dir() else []) if path.suffix == ".log"]
    if not files:
        return None
    return max(files, key=lambda path: (path.name.startswith("host-"), path.name))


def follow(folder: Path, lines: int, out: TextIO, poll_s: float = 0.3, until: float | None = None) -> None:
    """Show the newest file's end, then what is added to it; move on to a newer file when a new host starts."""
    current: Path | None = None
    offset = 0
    pending = b""
    while until is None or time.monotonic() < until:
        newest = _newest_started(folder)
        if newest is not None and newest != current:
            current, pending = newest, b""
            out.write(f"==> {current} <==\n")
            offset = _show(current, lines, out)
            out.flush()
        if current is not None:
            try:
                with current.open("rb") as stream:
                    if os.fstat(stream.fileno()).st_size < offset:
                        offset = 0  # it rotated: the file is a fresh one
                    stream.seek(offset)
                    data = stream.read()
            except OSError:
                data = b""
            if data:
                offset += len(data)
                *complete, pending = (pending + data).split(b"\n")
                for line in complete:
                    out.write(redact(line.decode("utf-8", errors="replace")) + "\n")
                out.flush()
        time.sleep(poll_s)
