"""Chrome native-messaging framing: a 4-byte native-endian length, then that many bytes of UTF-8 JSON.

Kept to the standard library (no asyncio, no pydantic) because the host writes its first frame with this
module before anything heavy is imported.

Limits come from Chrome: a frame from the host may carry at most 1 MiB, and one byte more makes Chrome drop
the port, so larger messages are split into ``chunk`` frames that the extension joins. Frames from the
browser may be up to 64 MiB.
"""

from __future__ import annotations

import contextlib
import json
import os
import struct
import sys
import threading
from collections.abc import Iterator
from typing import IO, Any

from host.errors import BridgeError, ErrorCode
from host.protocol.wire import Chunk, Outgoing

#: Largest frame body the host may send (Chrome's limit, in encoded bytes).
MAX_OUTGOING = 1024 * 1024
#: Largest frame body the host accepts from the browser.
MAX_INCOMING = 64 * 1024 * 1024

_LENGTH = struct.Struct("=I")  # native byte order, as Chrome writes it
_DISCARD_BLOCK = 1024 * 1024


class EndOfStream(Exception):
    """The browser closed its end: the host should shut down."""


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    parts: list[bytes] = []
    remaining = size
    while remaining:
        part = stream.read(remaining)
        if not part:
            raise EndOfStream("stdin closed" if not parts and remaining == size else "stdin closed mid-frame")
        parts.append(part)
        remaining -= len(part)
    return b"".join(parts)


def _discard(stream: IO[bytes], size: int) -> None:
    remaining = size
    while remaining:
        part = stream.read(min(remaining, _DISCARD_BLOCK))
        if not part:
            raise EndOfStream("stdin closed mid-frame")
        remaining -= len(part)


def decode_body(body: bytes) -> dict[str, Any]:
    """Decode one frame's body; BridgeError when it is not UTF-8 JSON or not an object."""
    try:
        message = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BridgeError(ErrorCode.INVALID_JSON, f"frame is not UTF-8 JSON: {exc}") from None
    except RecursionError:
        raise BridgeError(ErrorCode.INVALID_JSON, "frame nests JSON too deeply") from None
    if not isinstance(message, dict):
        raise BridgeError(
            ErrorCode.NOT_AN_OBJECT, f"frame must be a JSON object, got {type(message).__name__}"
        )
    return message


def _too_large(length: int, limit: int = MAX_INCOMING) -> BridgeError:
    return BridgeError(ErrorCode.FRAME_TOO_LARGE, f"frame of {length} bytes exceeds the {limit}-byte limit")


def read_frame(
    stream: IO[bytes], *, limit: int = MAX_INCOMING, skip_too_large: bool = True
) -> dict[str, Any]:
    """Read one frame from a blocking stream and decode it to a JSON object.

    Raises EndOfStream at a clean or mid-frame EOF, and BridgeError for a frame over ``limit`` bytes, not
    JSON, or not an object; after a BridgeError the stream is positioned at the next frame.

    Reading what the host sends (``limit=MAX_OUTGOING``), pass ``skip_too_large=False``: the host never
    sends a frame that large, so such a header is most likely text printed to stdout ahead of the frames,
    and skipping its "body" would wait for bytes that never come. The BridgeError then shows the header.
    """
    header = _read_exactly(stream, _LENGTH.size)
    (length,) = _LENGTH.unpack(header)
    if length > limit:
        if not skip_too_large:
            raise BridgeError(
                ErrorCode.FRAME_TOO_LARGE,
                f"{header!r} is not a frame header (it would announce {length} bytes, over the "
                f"{limit}-byte limit)",
            )
        # Skip the body so the next frame is read from the right place. The frame is named even when the
        # stream ends before its declared end: the header alone says it was too large.
        with contextlib.suppress(EndOfStream):
            _discard(stream, length)
        raise _too_large(length, limit)
    return decode_body(_read_exactly(stream, length))


class FrameDecoder:
    """Incremental decoding for an event loop: feed bytes as they arrive, get whole messages back.

    Yields each frame as a dict, or as a BridgeError for a frame that cannot be used (the stream stays in
    sync). An oversized frame is named as soon as its header arrives (its declared end may never come: a
    stream that breaks off is still told why), then skipped as its bytes arrive, without being held in memory.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._skipping = 0

    @property
    def mid_frame(self) -> bool:
        return bool(self._buffer) or self._skipping > 0

    def feed(self, data: bytes) -> list[dict[str, Any] | BridgeError]:
        out: list[dict[str, Any] | BridgeError] = []
        buffer = self._buffer
        buffer += data
        while True:
            if self._skipping:
                dropped = min(self._skipping, len(buffer))
                del buffer[:dropped]
                self._skipping -= dropped
                if self._skipping:
                    return out
                continue
            if len(buffer) < _LENGTH.size:
                return out
            (length,) = _LENGTH.unpack_from(buffer)
            if length > MAX_INCOMING:
                del buffer[: _LENGTH.size]
                out.append(_too_large(length))
                self._skipping = length
                continue
            end = _LENGTH.size + length
            if len(buffer) < end:
                return out
            body = bytes(buffer[_LENGTH.size : end])
            del buffer[:end]
            try:
                out.append(decode_body(body))
            except BridgeError as exc:
                out.append(exc)


def encode_frame(body: bytes) -> bytes:
    return _LENGTH.pack(len(body)) + body


def dumps(message: Any) -> bytes:
    """Compact JSON as Chrome's own encoder would send it; non-ASCII kept as UTF-8 to save bytes."""
    text = json.dumps(message, ensure_ascii=False, separators=(",", ":"))
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (JSON allows "\ud800", and JavaScript strings can hold one) has no UTF-8 form;
        # escaped, it reaches the extension as the same string.
        return json.dumps(message, separators=(",", ":")).encode("ascii")


def split_message(text: bytes, stream_id: str, limit: int = MAX_OUTGOING) -> Iterator[bytes]:
    """Frame bodies for one encoded message: itself when it fits, otherwise ``chunk`` frames.

    Each chunk carries a slice of the message's JSON text. Slices are cut on character boundaries and sized
    so that the chunk frame itself, with its JSON escaping, stays within ``limit`` bytes.
    """
    if len(text) <= limit:
        yield text
        return
    decoded = text.decode("utf-8")
    envelope = len(dumps(Chunk(stream=stream_id, seq=2**31, last=False, data="").wire()))
    budget = limit - envelope
    seq = 0
    start = 0
    while start < len(decoded):
        end = _fit(decoded, start, budget)
        piece = decoded[start:end]
        start = end
        yield dumps(Chunk(stream=stream_id, seq=seq, last=start >= len(decoded), data=piece).wire())
        seq += 1


def _fit(text: str, start: int, budget: int) -> int:
    """The end index of the longest slice from ``start`` whose JSON-escaped UTF-8 form fits ``budget``."""
    # Start from a guess that fits when nothing needs escaping, then shrink; escaping is rare in JSON text
    # (quotes and backslashes), so this converges in a step or two.
    end = min(len(text), start + budget)
    while True:
        size = len(json.dumps(text[start:end], ensure_ascii=False).encode("utf-8")) - 2
        if size <= budget:
            return end
        end = start + max(1, (end - start) * budget // size - 1)


class FrameWriter:
    """The single writer of frames to the browser. Thread-safe: every frame goes out whole."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._lock = threading.Lock()
        self._next_stream = 0

    def send(self, message: Outgoing) -> None:
        self.send_encoded(dumps(message.wire()))

    def send_encoded(self, text: bytes) -> None:
        with self._lock:
            stream_id = f"s{self._next_stream}"
            bodies = list(split_message(text, stream_id))
            if len(bodies) > 1:
                self._next_stream += 1
            for body in bodies:
                self._write_all(encode_frame(body))

    def _write_all(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]


def claim_stdout() -> int:
    """Give the frame stream its own copy of fd 1 and point fd 1 at stderr.

    After this, a stray ``print`` (ours or a library's) lands in the log instead of corrupting the frames.
    Returns the fd to write frames to.
    """
    sys.stdout.flush()
    frame_fd = os.dup(1)
    os.dup2(2, 1)
    if sys.platform == "win32":
        import msvcrt

        msvcrt.setmode(frame_fd, os.O_BINARY)
        msvcrt.setmode(0, os.O_BINARY)
    return frame_fd
