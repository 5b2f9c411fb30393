"""The stdio servers this host started, so that none of them outlives it.

The SDK's ``stdio_client`` starts each child itself and keeps the process object to itself. The host learns of
every one by wrapping the SDK's spawn function (``mcp.client.stdio._create_platform_compatible_process``, the
one place both the POSIX and the Windows paths go through) and keeps the process objects, not pids read back
from the system, so nothing here walks /proc or needs psutil.

Stopping goes by the SDK's own layout. On POSIX each child leads a process group of its own (the SDK starts it
in a new session), so a signal to the group also reaches whatever the child started. On Windows the SDK puts
each child in a Job Object that ends when the host does; ``os.kill`` there is TerminateProcess, which is
already a hard stop.

Everything here may be called from a thread other than the event loop's (the exit watchdog).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

_lock = threading.Lock()
_children: list[Any] = []
"""Process objects as the SDK made them (anyio's Process, or the SDK's Windows fallback): ``pid``,
``returncode``."""

_handed: ContextVar[Any] = ContextVar("handed", default=None)
"""A child already running (started early, host.prestart) that the next spawn in this context returns instead
of starting one."""


def track_stdio_spawns() -> bool:
    """Record every stdio child the SDK starts from now on. Returns whether tracking is in place."""
    import mcp.client.stdio as sdk_stdio

    spawn = getattr(sdk_stdio, "_create_platform_compatible_process", None)
    if spawn is None:
        log.warning("the MCP SDK changed how it starts stdio servers; children cannot be tracked")
        return False
    if getattr(spawn, "_notion_bridge_tracked", False):
        return True

    async def tracked_spawn(*args: Any, **kwargs: Any) -> Any:
        handed = _handed.get()
        if handed is not None:
            _handed.set(None)
            early, env = handed
            if kwargs.get("env") == env:
                return early  # tracked since its own spawn
            log.info("the SDK would start the child with another environment; starting it afresh")
            stop(early)
        process = await spawn(*args, **kwargs)
        track(process)
        return process

    tracked_spawn._notion_bridge_tracked = True  # type: ignore[attr-defined]
    sdk_stdio._create_platform_compatible_process = tracked_spawn
    return True


def track(process: Any) -> None:
    """Know of a child started outside the SDK's spawn (host.prestart)."""
    with _lock:
        _children[:] = [p for p in _children if p.returncode is None]
        _children.append(process)


@contextmanager
def handed_over(process: Any, env: dict[str, str] | None) -> Iterator[None]:
    """Within this block the SDK's next stdio spawn returns ``process`` (already running, with ``env``)
    instead of starting one, if the SDK would start it with that same environment."""
    token = _handed.set((process, env) if process is not None else None)
    try:
        yield
    finally:
        _handed.reset(token)


def stop(process: Any) -> None:
    """Ask one child to go (SIGTERM to its group); for a child nobody will use."""
    if process.returncode is None:
        _signal(process, hard=False)


def live() -> list[Any]:
    """The children that have not exited, as far as the event loop has seen."""
    with _lock:
        _children[:] = [p for p in _children if p.returncode is None]
        return list(_children)


def _signal(process: Any, hard: bool) -> None:
    try:
        if sys.platform == "win32":
            os.kill(process.pid, signal.SIGTERM)  # TerminateProcess: there is nothing softer to send
        else:
            # The child leads its own group (start_new_session): the group is its pid.
            os.killpg(process.pid, signal.SIGKILL if hard else signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass  # gone already, or not ours to stop any more


def signal_all(*, hard: bool) -> int:
    """Send every live child SIGTERM (or SIGKILL when ``hard``); returns how many were signalled."""
    children = live()
    for process in children:
        _signal(process, hard)
    return len(children)


def terminate_then_kill(wait_s: float) -> int:
    """SIGTERM every live child, wait up to ``wait_s`` for them to go, then SIGKILL the rest. Blocking; for
    the exit watchdog, whose event loop may be stuck. Returns how many were still alive at the start."""
    count = signal_all(hard=False)
    deadline = time.monotonic() + wait_s
    while count and time.monotonic() < deadline and live():
        time.sleep(0.01)
    signal_all(hard=True)
    return count


async def aterminate_then_kill(wait_s: float) -> int:
    """The same, waiting on the event loop, which is what notices the children's exits."""
    import anyio

    count = signal_all(hard=False)
    if count:
        log.warning("%d stdio server(s) still running after the grace period: terminating", count)
    with anyio.move_on_after(wait_s):
        while live():
            await anyio.sleep(0.01)
    killed = signal_all(hard=True)
    if killed:
        log.warning("%d stdio server(s) ignored SIGTERM: killed", killed)
    return count
