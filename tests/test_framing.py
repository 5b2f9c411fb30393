"""Native-messaging framing: what goes out always fits Chrome's limits and comes back exactly as sent."""

from __future__ import annotations

import io
import json
import os
import struct
import tempfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from host import framing
from host.errors import BridgeError
from host.framing import MAX_INCOMING, MAX_OUTGOING, EndOfStream, FrameWriter

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
messages = st.dictionaries(st.text(max_size=10), json_values, max_size=6).map(lambda d: {"type": "x", **d})


def frame(body: bytes) -> bytes:
    return struct.pack("=I", len(body)) + body


def written_frames(messages: list[dict], limit: int | None = None) -> list[dict]:
    """Send messages through a FrameWriter into a file and read every frame back."""
    with tempfile.TemporaryFile() as f:
        writer = FrameWriter(f.fileno())
        for message in messages:
            writer.send_encoded(framing.dumps(message))
        f.seek(0)
        data = f.read()
    stream = io.BytesIO(data)
    frames = []
    while stream.tell() < len(data):
        (length,) = struct.unpack("=I", stream.read(4))
        assert length <= (limit or MAX_OUTGOING)
        frames.append(json.loads(stream.read(length)))
    return frames


def join_chunks(frames: list[dict]) -> list[dict]:
    out, pending = [], {}
    for f in frames:
        if f["type"] == "chunk":
            pending.setdefault(f["stream"], []).append(f)
            if f["last"]:
                parts = pending.pop(f["stream"])
                assert [p["seq"] for p in parts] == list(range(len(parts)))
                out.append(json.loads("".join(p["data"] for p in parts)))
        else:
            out.append(f)
    return out


@settings(max_examples=200, deadline=None)
@given(st.lists(messages, max_size=8))
def test_any_sequence_of_messages_round_trips(sent):
    assert join_chunks(written_frames(sent)) == sent


@settings(max_examples=60, deadline=None)
@given(st.text(min_size=1, max_size=3000), st.integers(min_value=120, max_value=900))
def test_chunked_messages_reassemble_and_every_chunk_fits(text, limit):
    message = {"type": "reply", "id": "1", "ok": True, "result": text}
    encoded = framing.dumps(message)
    bodies = list(framing.split_message(encoded, "s0", limit=limit))
    assert all(len(body) <= limit for body in bodies)
    frames = [json.loads(body) for body in bodies]
    assert join_chunks(frames) == [message]


def message_of_size(size: int) -> dict:
    base = framing.dumps({"type": "reply", "id": "1", "ok": True, "result": ""})
    message = {"type": "reply", "id": "1", "ok": True, "result": "a" * (size - len(base))}
    assert len(framing.dumps(message)) == size
    return message


def test_a_message_of_exactly_one_mebibyte_goes_out_as_one_frame():
    frames = written_frames([message_of_size(MAX_OUTGOING)])
    assert len(frames) == 1 and frames[0]["type"] == "reply"


def test_one_byte_more_is_chunked_and_every_chunk_fits():
    message = message_of_size(MAX_OUTGOING + 1)
    frames = written_frames([message])
    assert len(frames) == 2 and {f["type"] for f in frames} == {"chunk"}
    assert join_chunks(frames) == [message]


def test_multibyte_text_is_chunked_on_character_boundaries():
    message = {"type": "reply", "id": "1", "ok": True, "result": 'é漢😀"\\\n' * 400_000}
    frames = written_frames([message])
    assert len(frames) > 1
    assert join_chunks(frames) == [message]


def test_ten_mebibytes_arrive_intact():
    message = {"type": "reply", "id": "big", "ok": True, "result": "x" * (10 * 1024 * 1024)}
    frames = written_frames([message])
    assert len(frames) == 11
    assert join_chunks(frames) == [message]


def test_reading_decodes_a_frame():
    assert framing.read_frame(io.BytesIO(frame(b'{"type":"ping","id":"1"}'))) == {"type": "ping", "id": "1"}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not json", "invalid_json"),
        (b"\xff\xfe", "invalid_json"),
        (b"[1,2]", "not_an_object"),
        (b'"text"', "not_an_object"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json"),
    ],
)
def test_unusable_frames_raise_with_a_code_and_leave_the_stream_in_sync(body, code):
    stream = io.BytesIO(frame(body) + frame(b'{"type":"ping","id":"2"}'))
    with pytest.raises(BridgeError) as caught:
        framing.read_frame(stream)
    assert caught.value.code == code
    assert framing.read_frame(stream) == {"type": "ping", "id": "2"}


def test_a_frame_over_64_mebibytes_is_skipped_whole():
    oversized = MAX_INCOMING + 1
    stream = io.BytesIO(struct.pack("=I", oversized) + b" " * oversized + frame(b'{"type":"ping","id":"3"}'))
    with pytest.raises(BridgeError) as caught:
        framing.read_frame(stream)
    assert caught.value.code == "frame_too_large"
    assert framing.read_frame(stream) == {"type": "ping", "id": "3"}


@pytest.mark.parametrize("declared", [MAX_INCOMING + 1, 2**31, 2**32 - 1])
def test_an_oversized_frame_is_named_even_when_the_stream_ends_before_its_declared_end(declared):
    stream = io.BytesIO(struct.pack("=I", declared) + b"only a little")
    with pytest.raises(BridgeError) as caught:
        framing.read_frame(stream)
    assert caught.value.code == "frame_too_large" and str(declared) in caught.value.message
    with pytest.raises(EndOfStream):
        framing.read_frame(stream)
    decoder = framing.FrameDecoder()
    (named,) = decoder.feed(struct.pack("=I", declared))
    assert named.code == "frame_too_large", "named when the header arrives, not after the body"
    assert decoder.feed(b"x" * 1000) == [] and decoder.mid_frame


@pytest.mark.parametrize("data", [b"", b"\x05\x00", b"\x10\x00\x00\x00{}"])
def test_end_of_stream_anywhere_is_reported_as_such(data):
    with pytest.raises(EndOfStream):
        framing.read_frame(io.BytesIO(data))


def test_claim_stdout_moves_stray_prints_to_stderr():
    code = (
        "import os, sys; from host import framing; fd = framing.claim_stdout(); print('stray'); "
        "framing.FrameWriter(fd).send_encoded(framing.dumps({'type': 'hello'}))"
    )
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", code], capture_output=True, check=True, env={**os.environ})
    assert done.stdout == frame(b'{"type":"hello"}')
    assert b"stray" in done.stderr


@settings(max_examples=150, deadline=None)
@given(st.lists(messages, min_size=1, max_size=6), st.lists(st.integers(1, 50), min_size=1, max_size=20))
def test_the_incremental_decoder_gives_the_same_messages_however_the_bytes_are_split(sent, cuts):
    data = b"".join(frame(framing.dumps(m)) for m in sent)
    decoder = framing.FrameDecoder()
    received, position, i = [], 0, 0
    while position < len(data):
        step = cuts[i % len(cuts)]
        received += decoder.feed(data[position : position + step])
        position += step
        i += 1
    assert received == sent
    assert not decoder.mid_frame


def test_the_incremental_decoder_skips_oversized_and_bad_frames_and_stays_in_sync():
    decoder = framing.FrameDecoder()
    oversized = MAX_INCOMING + 10
    out = decoder.feed(struct.pack("=I", oversized))
    for _ in range(oversized // (1024 * 1024) + 1):
        out += decoder.feed(b"\0" * min(1024 * 1024, oversized))
        oversized -= 1024 * 1024
        if oversized <= 0:
            break
    out += decoder.feed(frame(b"nope") + frame(b'{"type":"ping","id":"1"}'))
    assert [getattr(o, "code", o) for o in out] == [
        "frame_too_large",
        "invalid_json",
        {"type": "ping", "id": "1"},
    ]
