"""Waiting for the person: a question goes out, the host waits for its one answer, or gives up.

Signing in (the consent window), a server's question (elicitation), a tool call waiting for approval — each is
a question with an id, an optional time limit, and an answer that arrives as a request from the extension.
``Waiting`` is that, once: every kind of question keys its own table, and each table answers the same way —
a first answer wins, a late or unknown one is refused (the caller turns that into ``unknown_*``), a time
limit ends the wait with ``TimeoutError``, and shutting down answers everything still open with a given value.

Pure asyncio; no knowledge of frames or of the host, so the chat agent can use it too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
A = TypeVar("A")


class Waiting(Generic[K, A]):
    """Open questions of one kind, by key."""

    def __init__(self) -> None:
        self._open: dict[K, asyncio.Future[A]] = {}

    async def ask(
        self, key: K, *, timeout_s: float | None = None, sent: Callable[[], None] | None = None
    ) -> A:
        """Open the question ``key``, call ``sent`` (which puts it in front of the person), and wait for the
        answer. Raises TimeoutError after ``timeout_s``; the question is closed however the wait ends."""
        if key in self._open:
            raise ValueError(f"a question {key!r} is already open")
        future: asyncio.Future[A] = asyncio.get_running_loop().create_future()
        self._open[key] = future
        try:
            if sent is not None:
                sent()
            if timeout_s is None:
                return await future
            return await asyncio.wait_for(future, timeout_s)
        finally:
            self._open.pop(key, None)

    def answer(self, key: K, value: A) -> bool:
        """Deliver the person's answer. False when no question ``key`` is open (never asked, already
        answered, timed out)."""
        future = self._open.get(key)
        if future is None or future.done():
            return False
        future.set_result(value)
        return True

    def is_open(self, key: K) -> bool:
        return key in self._open

    def keys(self) -> list[K]:
        return list(self._open)

    def close_all(self, value: A) -> None:
        """Answer every open question with ``value`` (the host is stopping, or the port went away)."""
        for future in self._open.values():
            if not future.done():
                future.set_result(value)
