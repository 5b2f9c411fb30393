"""Local servers started while the host is still importing, so the two start-ups overlap.

The host needs the MCP SDK (most of a second to import) before it can speak to any server, and a Python stdio
server needs about as long again to import its own. Done one after the other, a person who opens the popup
right after starting the browser waits for both. So as soon as the hello is out, ``start_early`` spawns every
enabled stdio server whose command and environment are known without the keychain (no ``secret_env``) — the
built-in SQLite server among them — and only then does the host import the rest; the child's start-up runs on
the other core meanwhile.

When the supervisor later opens that server, ``StdioTransport`` takes the waiting child (``take``) and the SDK's
spawn is handed it instead of starting another (host.children wraps the spawn). The child is taken only if
the command, working directory and environment are exactly what would be spawned then; otherwise (the
configuration changed meanwhile, the SDK's environment rules differ) it is stopped and a fresh one started,
so an early start never changes which process serves. A child nobody takes within ``UNCLAIMED_S`` is stopped.
Every early child is known to host.children from its spawn, so shutdown stops it like any other.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from host import children

if TYPE_CHECKING:
    from host.config import ConfigStore

log = logging.getLogger(__name__)

#: How many of the child's last stderr lines are kept for the words of a failed start.
LAST_WORDS = 5
#: An early child no supervisor asked for by then is stopped.
UNCLAIMED_S = 30.0

# The variables the SDK's stdio_client passes to a child whose server sets none of its own
# (mcp.client.stdio.DEFAULT_INHERITED_ENV_VARS); checked again at ``take``, so a change there costs only the
# early start, never correctness.
_INHERITED = (
    (
        "APPDATA",
        "HOMEDRIVE",
        "HOMEPATH",
        "LOCALAPPDATA",
        "PATH",
        "PATHEXT",
        "PROCESSOR_ARCHITECTURE",
        "SYSTEMDRIVE",
        "SYSTEMROOT",
        "TEMP",
        "USERNAME",
        "USERPROFILE",
    )
    if sys.platform == "win32"
    else ("HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER")
)


def sdk_environment(extra: dict[str, str] | None) -> dict[str, str]:
    """The environment the SDK gives a child: the inherited variables, then the server's own on top."""
    inherited = {k: v for k in _INHERITED if (v := os.environ.get(k)) is not None and not v.startswith("()")}
    return inherited | (extra or {})


def stderr_pipe(server_id: str, tail: deque[str]) -> tuple[Any, Callable[[], None]]:
    """A file the child's stderr goes to, whose lines land in the host log under the server's name and in
    ``tail``."""
    read_fd, write_fd = os.pipe()
    child_log = logging.getLogger(f"host.child.{server_id}")

    def pump() -> None:
        with os.fdopen(read_fd, "r", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                text = line.rstrip()
                if text:
                    tail.append(text)
                    child_log.info("%s", text)

    threading.Thread(target=pump, name=f"stderr-{server_id}", daemon=True).start()
    errlog = os.fdopen(write_fd, "w")
    return errlog, errlog.close


@dataclass
class EarlyChild:
    argv: list[str]
    env: dict[str, str] | None
    """As the transport passes it to the SDK (``None``: the server sets no variables)."""
    cwd: str | None
    process: Any
    """anyio's Process, as the SDK's own spawn returns it."""
    close_errlog: Callable[[], None]
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=LAST_WORDS))


_waiting: dict[str, EarlyChild] = {}


async def start_early(config: ConfigStore) -> int:
    """Spawn the stdio servers that can be started before the SDK is imported; returns how many."""
    if sys.platform == "win32":
        return 0  # the SDK starts Windows children in a Job Object of its own making
    import anyio

    started = 0
    for server in config.current.servers:
        if server.kind != "stdio" or not server.enabled or server.secret_env or server.id in _waiting:
            continue
        try:
            argv = server.launch_command()
        except Exception:  # whatever it is, the supervisor will say so properly
            continue
        env = {**os.environ, **server.env} if server.env else None
        tail: deque[str] = deque(maxlen=LAST_WORDS)
        errlog, close_errlog = stderr_pipe(server.id, tail)
        try:
            process = await anyio.open_process(
                argv, env=sdk_environment(env), stderr=errlog, cwd=server.cwd, start_new_session=True
            )
        except OSError as exc:
            close_errlog()
            log.info("%s: not started early (%s); the supervisor will try", server.id, exc)
            continue
        children.track(process)
        _waiting[server.id] = EarlyChild(argv, env, server.cwd, process, close_errlog, tail)
        started += 1
    if started:
        asyncio.get_running_loop().call_later(UNCLAIMED_S, _discard_all)
    return started


def take(server_id: str, argv: list[str], env: dict[str, str] | None, cwd: str | None) -> EarlyChild | None:
    """The child started early for this server, if it is exactly the one that would be started now."""
    early = _waiting.pop(server_id, None)
    if early is None:
        return None
    if (early.argv, early.env, early.cwd) != (argv, env, cwd) or early.process.returncode is not None:
        stop(early)
        return None
    return early


def _discard(server_id: str) -> None:
    early = _waiting.pop(server_id, None)
    if early is not None:
        log.info("%s: the child started early was not asked for; stopping it", server_id)
        stop(early)


def stop(early: EarlyChild) -> None:
    """Stop a child nobody will use: its stdin closes (as the SDK would), and a signal makes sure."""
    early.close_errlog()
    children.stop(early.process)


def _discard_all() -> None:
    for server_id in list(_waiting):
        _discard(server_id)
