"""A Python stand-in for the extension: spawns the host exactly as Chrome does and speaks the protocol.

Used by ``notion-bridge demo``, the benchmarks and the tests. It reads frames with host.framing (the host's own
reader), joins chunks, routes replies to their requests and keeps every other message as an event.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from host import EXTENSION_ID, framing
from host.errors import BridgeError

ORIGIN = f"chrome-extension://{EXTENSION_ID}/"


class HostProcess:
    """A running host. Messages other than replies are kept in ``events``; replies go to their caller."""

    def __init__(
        self,
        home: Path,
        *,
        origin: str = ORIGIN,
        env: dict[str, str] | None = None,
        heartbeat_s: float = 0.5,
    ) -> None:
        self.home = home
        full_env = {
            **os.environ,
            "NOTION_BRIDGE_HOME": str(home),
            "NOTION_BRIDGE_HEARTBEAT_S": str(heartbeat_s),
            # Never touch the developer's real keychain from a test.
            "NOTION_BRIDGE_TOKEN_STORE": "file",
            **(env or {}),
        }
        self.started_at = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "host", origin],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
        )
        self.first_frame_at: float | None = None
        self.frames: list[dict[str, Any]] = []
        """Every frame as it arrived, chunks included (for the token-leak scans)."""
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.status: dict[str, Any] | None = None
        self._replies: dict[str, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._chunks: dict[str, list[str]] = {}
        self._ids = itertools.count(1)
        self._write_lock = threading.Lock()
        self.closed = threading.Event()
        self.stderr_lines: list[str] = []
        threading.Thread(target=self._read_loop, daemon=True).start()
        threading.Thread(target=self._stderr_loop, daemon=True).start()

    # --- wire ---------------------------------------------------------------------------------------

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        with self._write_lock:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_raw(framing.encode_frame(json.dumps(message).encode()))

    def _read_loop(self) -> None:
        assert self.proc.stdout is not None
        try:
            while True:
                # Chrome drops the port for a frame over 1 MiB; so does this stand-in, loudly.
                message = framing.read_frame(
                    self.proc.stdout, limit=framing.MAX_OUTGOING, skip_too_large=False
                )
                if self.first_frame_at is None:
                    self.first_frame_at = time.perf_counter()
                self.frames.append(message)
                self._deliver(message)
        except framing.EndOfStream:
            pass
        except BridgeError as exc:
            self.stderr_lines.append(f"the host broke the framing: {exc.code}: {exc.message}")
            raise
        finally:
            self.closed.set()

    def _stderr_loop(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode(errors="replace").rstrip())

    def _deliver(self, message: dict[str, Any]) -> None:
        if message.get("type") == "chunk":
            parts = self._chunks.setdefault(message["stream"], [])
            assert message["seq"] == len(parts), "chunks arrived out of order"
            parts.append(message["data"])
            if not message["last"]:
                return
            message = json.loads("".join(self._chunks.pop(message["stream"])))
        if message.get("type") == "reply":
            with self._lock:
                box = self._replies.setdefault(message["id"], queue.Queue())
            box.put(message)
            return
        if message.get("type") == "status":
            self.status = message
        self.events.put(message)

    # --- requests -----------------------------------------------------------------------------------

    def start_request(self, verb: str, **fields: Any) -> str:
        request_id = fields.pop("id", None) or f"r{next(self._ids)}"
        with self._lock:
            self._replies.setdefault(request_id, queue.Queue())
        self.send({"type": verb, "id": request_id, **fields})
        return request_id

    def reply(self, request_id: str, timeout: float = 30) -> dict[str, Any]:
        with self._lock:
            box = self._replies.setdefault(request_id, queue.Queue())
        try:
            message = box.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no reply to {request_id} within {timeout} s") from None
        with self._lock:
            self._replies.pop(request_id, None)
        return message

    def request(self, verb: str, timeout: float = 30, **fields: Any) -> dict[str, Any]:
        return self.reply(self.start_request(verb, **fields), timeout)

    def result(self, verb: str, timeout: float = 30, **fields: Any) -> Any:
        """The result of a request that must succeed."""
        reply = self.request(verb, timeout, **fields)
        assert reply["ok"], f"{verb} failed: {reply['error']}"
        return reply["result"]

    # --- events -------------------------------------------------------------------------------------

    def next_event(self, timeout: float = 10) -> dict[str, Any]:
        try:
            return self.events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout} s") from None

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        """The first event from now (or the latest status) that satisfies ``predicate``."""
        if self.status is not None and predicate(self.status):
            return self.status
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching event within {timeout} s; last status: {self.status}")
            try:
                event = self.events.get(timeout=remaining)
            except queue.Empty:
                continue
            if predicate(event):
                return event

    def server(self, server_id: str) -> dict[str, Any]:
        assert self.status is not None
        return next(s for s in self.status["servers"] if s["id"] == server_id)

    def wait_state(self, server_id: str, *states: str, timeout: float = 20) -> dict[str, Any]:
        def matches(event: dict[str, Any]) -> bool:
            if event.get("type") != "status":
                return False
            entry = next((s for s in event["servers"] if s["id"] == server_id), None)
            return entry is not None and entry["state"] in states

        event = self.wait_for(matches, timeout)
        return next(s for s in event["servers"] if s["id"] == server_id)

    def states_seen(self, server_id: str) -> list[str]:
        """Every state the server passed through, in order, without repeats."""
        seen: list[str] = []
        for frame in self.frames:
            if frame.get("type") == "status":
                entry = next((s for s in frame["servers"] if s["id"] == server_id), None)
                if entry and (not seen or seen[-1] != entry["state"]):
                    seen.append(entry["state"])
        return seen

    # --- end ----------------------------------------------------------------------------------------

    def close(self, timeout: float = 5) -> float:
        """Close stdin as Chrome does when the port goes away; returns how long the host took to exit."""
        started = time.perf_counter()
        if self.proc.stdin and not self.proc.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"host did not exit within {timeout} s of stdin closing") from None
        return time.perf_counter() - started

    def __enter__(self) -> HostProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(AssertionError):
                self.close()


def write_config(home: Path, servers: list[dict[str, Any]], **extra: Any) -> Path:
    """Give a host home a configuration with exactly these servers."""
    config_dir = home / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    path = config_dir / "config.json"
    path.write_text(json.dumps({"version": 1, "servers": servers, **extra}, indent=2))
    return path
