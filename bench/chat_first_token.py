"""Time to the first streamed token of a chat answer: through the host vs straight from the model server.

    python -m bench.chat_first_token [--turns 30]

Both sides talk to the same scripted OpenAI-compatible server on 127.0.0.1; "direct" is the openai client in
this process, "host" is a chat.send through the real host, timed to its first chat.delta event: a new
conversation each time, so every request carries the system prompt and the tools and goes through the context
budget. "host, long conversation" asks every turn in one conversation on a model with a 4,096-token context,
each message about 500 tokens: from the eighth turn on, every request has to be fitted (old turns left out), which
is the budget's most expensive case; its direct counterpart sends the very requests the host made, so the
difference is what the host adds, not what a larger request costs anywhere. Prints JSON with medians and the
overheads; the target is ≤ 20 ms.

Also how long Stop takes: ``chat.cancel`` sent mid-answer to the turn's ``stopped`` reply (tests/test_chat.py
checks that Stop abandons the model's stream; how fast it does is this figure, not an assertion).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from devkit.host_process import HostProcess, write_config
from tests.support.scripted_llm import ScriptedLLM


async def direct(base_url: str, turns: int, bodies: list[dict] | None = None) -> list[float]:
    """Straight from the model: a one-word message, or (``bodies``) the very requests the host made."""
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="x", max_retries=0)
    times = []
    for i in range(turns):
        body = bodies[i] if bodies else {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
        started = time.perf_counter()
        stream = await client.chat.completions.create(
            model=body["model"], messages=body["messages"], tools=body.get("tools"), stream=True
        )
        async for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                times.append((time.perf_counter() - started) * 1000)
                break
        await stream.close()
    return times


SMALL_MODEL = {
    "id": "bench/small-4k",
    "name": "Bench 4K",
    "context_length": 4096,
    "supported_parameters": ["tools"],
}
LONG_MESSAGE = "We checked the figures for the northern stores again today. " * 45  # about 500 tokens


def through_host(base_url: str, turns: int, *, long: bool = False) -> list[float]:
    with tempfile.TemporaryDirectory() as home:
        path = write_config(Path(home), [])
        stored = json.loads(path.read_text())
        stored["llm"] = {"base_url": base_url, "model": SMALL_MODEL["id"] if long else "m"}
        path.write_text(json.dumps(stored))
        host = HostProcess(Path(home), heartbeat_s=15)
        host.wait_for(lambda e: e["type"] == "status")
        # Imports the model client, reads the model list and loads the token encoding, once.
        conversation = host.result("chat.send", text="warm up", timeout=60)["conversation_id"]
        times = []
        for i in range(turns):
            seen = len(host.frames)
            started = time.perf_counter()
            if long:
                request = host.start_request(
                    "chat.send", conversation_id=conversation, text=f"turn {i}: {LONG_MESSAGE}"
                )
            else:
                request = host.start_request("chat.send", text=f"turn {i}")
            while not any(f.get("type") == "chat.delta" for f in host.frames[seen:]):
                time.sleep(0.0002)
            times.append((time.perf_counter() - started) * 1000)
            host.reply(request, timeout=30)
        host.close()
        return times


def stop_times(base_url: str, turns: int) -> list[float]:
    """Milliseconds from chat.cancel, sent while the answer streams, to the turn's stopped reply."""
    with tempfile.TemporaryDirectory() as home:
        path = write_config(Path(home), [])
        stored = json.loads(path.read_text())
        stored["llm"] = {"base_url": base_url, "model": "m"}
        path.write_text(json.dumps(stored))
        host = HostProcess(Path(home), heartbeat_s=15)
        host.wait_for(lambda e: e["type"] == "status")
        times = []
        for i in range(turns):
            seen = len(host.frames)
            request = host.start_request("chat.send", text=f"talk {i}")
            while not any(f.get("type") == "chat.delta" for f in host.frames[seen:]):
                time.sleep(0.0002)
            conversation = next(f for f in host.frames[seen:] if f.get("type") == "chat.delta")[
                "conversation_id"
            ]
            started = time.perf_counter()
            host.result("chat.cancel", conversation_id=conversation)
            assert host.reply(request, timeout=30)["result"]["stopped"]
            times.append((time.perf_counter() - started) * 1000)
        host.close()
        return times


def run(turns: int = 30) -> dict:
    """The figures, with the raw samples under "samples" for plotting."""
    load = os.getloadavg()
    with ScriptedLLM() as llm:
        llm.models = [SMALL_MODEL]
        llm.context_limit = 4096
        llm.plan = [{"pieces": ["hello", " there"]} for _ in range(turns * 4 + 5)]
        direct_times = asyncio.run(direct(llm.base_url, turns))
        host_times = through_host(llm.base_url, turns)
        long_times = through_host(llm.base_url, turns, long=True)
        largest = max(llm.prompt_tokens)
        # The same long requests straight to the model: what the host adds beyond their size.
        direct_long = asyncio.run(direct(llm.base_url, turns, llm.requests[-turns:]))
        llm.plan = [{"pieces": ["word "] * 200, "delay": 0.05} for _ in range(turns)]
        stops = stop_times(llm.base_url, turns)
    direct_median, host_median = statistics.median(direct_times), statistics.median(host_times)
    long_median, direct_long_median = statistics.median(long_times), statistics.median(direct_long)
    return {
        "first_token_ms": {
            "load_average": [round(x, 2) for x in load],
            "direct_median": round(direct_median, 2),
            "host_median": round(host_median, 2),
            "overhead_median": round(host_median - direct_median, 2),
            "direct_long_conversation_median": round(direct_long_median, 2),
            "host_long_conversation_median": round(long_median, 2),
            "overhead_long_conversation_median": round(long_median - direct_long_median, 2),
            "largest_request_tokens": largest,
            "turns": turns,
            "target_overhead_ms": 20,
        },
        "stop_ms": {
            "median": round(statistics.median(stops), 2),
            "max": round(max(stops), 2),
            "turns": turns,
        },
        "samples": {
            "direct_first_token_ms": direct_times,
            "host_first_token_ms": host_times,
            "direct_long_conversation_first_token_ms": direct_long,
            "host_long_conversation_first_token_ms": long_times,
            "stop_ms": stops,
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--turns", type=int, default=30)
    args = parser.parse_args()
    report = run(args.turns)
    del report["samples"]
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
