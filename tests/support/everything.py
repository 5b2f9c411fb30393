"""``@modelcontextprotocol/server-everything`` from npm: the MCP project's own server that exercises every
feature of the protocol, written by no one here. Installed once into a cache folder (``.ci/run`` does it; a
test run without it installs it), started by the tests over stdio, streamable HTTP or SSE.

Fails loudly when npm cannot fetch it: a test that cannot reach its server did not pass.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from filelock import FileLock

from tests.support.processes import ROOT, free_port, wait_until_serving

PACKAGE = "@modelcontextprotocol/server-everything"
#: The version the tests are written against (its tools, prompts and resources are named in them).
VERSION = "2026.8.31"
#: Where it is installed: NOTION_BRIDGE_NPM_CACHE, or .cache/npm-servers in the checkout.
CACHE = Path(os.environ.get("NOTION_BRIDGE_NPM_CACHE") or ROOT / ".cache" / "npm-servers")


def entry_point() -> Path:
    """The server's dist/index.js, installing the package first when it is not there yet."""
    script = CACHE / "node_modules" / "@modelcontextprotocol" / "server-everything" / "dist" / "index.js"
    CACHE.mkdir(parents=True, exist_ok=True)
    with FileLock(str(CACHE / "install.lock")):
        installed = CACHE / "node_modules" / "@modelcontextprotocol" / "server-everything" / "package.json"
        if not script.exists() or f'"version": "{VERSION}"' not in installed.read_text(encoding="utf-8"):
            install()
    return script


def install() -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError(f"npm is required to install {PACKAGE} for the tests (apt install npm, or nodejs)")
    done = subprocess.run(
        [
            npm,
            "install",
            "--prefix",
            str(CACHE),
            "--no-audit",
            "--no-fund",
            "--no-save",
            f"{PACKAGE}@{VERSION}",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise RuntimeError(f"npm could not install {PACKAGE}@{VERSION}: {done.stderr.strip()[-2000:]}")


def node() -> str:
    found = shutil.which("node")
    if found is None:
        raise RuntimeError("node is required to run server-everything (apt install nodejs)")
    return found


def stdio_command() -> list[str]:
    return [node(), str(entry_point()), "stdio"]


class EverythingServer:
    """server-everything over streamable HTTP (``/mcp``) or SSE (``/sse``) on a free port."""

    def __init__(self, mode: str) -> None:
        assert mode in ("http", "sse")
        self.mode = mode
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The streamable HTTP URL, as the configuration holds it (SSE is found beside it)."""
        return f"http://127.0.0.1:{self.port}/mcp"

    def __enter__(self) -> EverythingServer:
        script = entry_point()
        self.proc = subprocess.Popen(
            [node(), str(script), "streamableHttp" if self.mode == "http" else "sse"],
            env={**os.environ, "PORT": str(self.port)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_until_serving(self.port, timeout=30)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
