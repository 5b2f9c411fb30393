"""Measuring a change against the code before it, in the same run: a git revision's tree and a host from it.

Alternating old and new in one run puts both under the same load, which moves every figure on a 2-core machine
more than most changes do.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path

from devkit.host_process import HostProcess

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def exported(revision: str) -> Iterator[Path]:
    """The tree of ``revision`` in a temporary folder."""
    archive = subprocess.run(["git", "archive", revision], cwd=ROOT, capture_output=True, check=True).stdout
    with tempfile.TemporaryDirectory() as folder:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(folder, filter="data")
        yield Path(folder)


def host_from(home: Path, code: Path | None, heartbeat_s: float = 15) -> HostProcess:
    """A host running the code in ``code`` (this tree's if None). ``python -m`` puts the working directory
    first on the path, so the host starts from inside ``code``; its children inherit the directory, so they
    run that code too. The default heartbeat is the real one: HostProcess shortens it for tests."""
    env = {"PYTHONPATH": str(code)} if code is not None else None
    before = Path.cwd()
    if code is not None:
        os.chdir(code)
    try:
        return HostProcess(home, heartbeat_s=heartbeat_s, env=env)
    finally:
        os.chdir(before)
