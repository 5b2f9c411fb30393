"""An OpenAI-compatible chat-completions server that plays a given plan, for the chat agent's tests.

Each request to /v1/chat/completions takes the next step of the plan: text to stream (in small pieces, with a
delay between them) and/or tool calls, or an HTTP error. Every request body is kept for assertions.

Conversations that run at once get a plan each: ``routes`` maps a word to the steps of the conversation whose
first user message contains it, so their requests may arrive in any order. A tool call may name its ``id``, as
models that number their calls from ``call_1`` in every conversation do.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.support.processes import free_port


class ScriptedLLM:
    def __init__(self) -> None:
        self.plan: list[dict[str, Any]] = []
        self.routes: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.authorizations: list[str] = []
        """The Authorization header of each request ("" when absent)."""
        self.streams_finished = 0
        self.streams_abandoned = 0
        """Streams the client stopped reading before their end (a turn stopped mid-answer)."""
        self.port = free_port()
        self.first_byte_at: list[float] = []
        app = Starlette(routes=[Route("/v1/chat/completions", self._complete, methods=["POST"])])
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ScriptedLLM:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(5)

    async def _complete(self, request: Request) -> Any:
        body = await request.json()
        self.requests.append(body)
        self.authorizations.append(request.headers.get("authorization", ""))
        plan = self._plan_for(body)
        step = plan.pop(0) if plan else {"text": "(no more plan)"}
        if "status" in step:
            return JSONResponse(
                {"error": {"message": step.get("message", "scripted error")}}, status_code=step["status"]
            )
        if "sleep" in step:
            await asyncio.sleep(step["sleep"])

        async def events() -> Any:
            def chunk(delta: dict[str, Any], finish: str | None = None) -> str:
                data = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", "m"),
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}  # fmt: skip
                return f"data: {json.dumps(data)}\n\n"

            self.first_byte_at.append(time.perf_counter())
            finished = False
            try:
                yield chunk({"role": "assistant"})
                for piece in step.get("pieces") or ([step["text"]] if step.get("text") else []):
                    yield chunk({"content": piece})
                    await asyncio.sleep(step.get("delay", 0))
                for i, call in enumerate(step.get("tool_calls", [])):
                    call_id = call.get("id") or f"call_{len(self.requests)}_{i}"
                    yield chunk({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                                 "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]})  # fmt: skip
                yield chunk({}, "tool_calls" if step.get("tool_calls") else "stop")
                yield "data: [DONE]\n\n"
                finished = True
            finally:
                if finished:
                    self.streams_finished += 1
                else:
                    self.streams_abandoned += 1

        return StreamingResponse(events(), media_type="text/event-stream")

    def _plan_for(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        first = next((m for m in body.get("messages", []) if m.get("role") == "user"), None)
        content = str(first.get("content", "")) if first else ""
        for word, steps in self.routes.items():
            if word in content:
                return steps
        return self.plan
