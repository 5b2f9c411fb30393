"""An OpenAI-compatible chat-completions server that plays a given plan, for the chat agent's tests.

Each request to /v1/chat/completions takes the next step of the plan: text to stream (in small pieces, with a
delay between them) and/or tool calls, or an HTTP error. Every request body is kept for assertions, with its
headers and its size in tokens.

Conversations that run at once get a plan each: ``routes`` maps a word to the steps of the conversation whose
first user message contains it, so their requests may arrive in any order. A tool call may name its ``id``, as
models that number their calls from ``call_1`` in every conversation do.

Like a real endpoint it can also list its models (``models``: OpenRouter's shape at /v1/models), refuse a request
larger than ``context_limit`` tokens with HTTP 400 and the words real endpoints use, and report ``usage`` at the
end of a stream when asked with ``stream_options.include_usage``. Tokens are counted with o200k_base, the way
OpenAI counts a chat request. The same routes answer under /api/v1 (OpenRouter's path), and over TLS when given
a certificate.
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
    def __init__(self, *, tls: tuple[str, str] | None = None) -> None:
        self.plan: list[dict[str, Any]] = []
        self.routes: dict[str, list[dict[str, Any]]] = {}
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        """Each request's headers (chat completions and model lists alike), lower-case names."""
        self.prompt_tokens: list[int] = []
        """Each chat request's size in tokens, as counted for ``context_limit``."""
        self.models: list[dict[str, Any]] | None = None
        """The model list; None answers /models with 404, as endpoints without one do."""
        self.context_limit: int | None = None
        self.refuse_stream_options = False
        """Answer 400 to ``stream_options``, as some older servers do."""
        self.authorizations: list[str] = []
        """The Authorization header of each request ("" when absent)."""
        self.streams_finished = 0
        self.streams_abandoned = 0
        """Streams the client stopped reading before their end (a turn stopped mid-answer)."""
        self.port = free_port()
        self.first_byte_at: list[float] = []
        self._tls = tls
        routes = []
        for prefix in ("/v1", "/api/v1"):
            routes += [
                Route(f"{prefix}/chat/completions", self._complete, methods=["POST"]),
                Route(f"{prefix}/models", self._models, methods=["GET"]),
            ]
        app = Starlette(routes=routes)
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        if tls:
            config = uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                ssl_certfile=tls[0],
                ssl_keyfile=tls[1],
            )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._counter: Any = None

    @property
    def base_url(self) -> str:
        return f"{'https' if self._tls else 'http'}://127.0.0.1:{self.port}/v1"

    def count(self, body: dict[str, Any]) -> int:
        """The request's tokens: its messages as OpenAI counts them, and its tools' JSON."""
        if self._counter is None:
            from host.agent.tokens import Encodings, TokenCounter

            encodings = Encodings()
            encodings.wait("o200k_base")
            self._counter = TokenCounter("gpt-4o", encodings)
        counter = self._counter
        tools = body.get("tools")
        return counter.raw_messages(body.get("messages", [])) + (
            counter.raw(json.dumps(tools, ensure_ascii=False)) if tools else 0
        )

    async def _models(self, request: Request) -> Any:
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        if self.models is None:
            return JSONResponse({"error": {"message": "not found"}}, status_code=404)
        return JSONResponse({"data": self.models})

    def __enter__(self) -> ScriptedLLM:
        self.count({"messages": []})  # loads the encoding now, not in the first request's time
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
        self.headers.append({k.lower(): v for k, v in request.headers.items()})
        tokens = self.count(body)
        self.prompt_tokens.append(tokens)
        if self.refuse_stream_options and "stream_options" in body:
            message = "Unrecognized request argument supplied: stream_options"
            return JSONResponse(
                {"error": {"message": message, "type": "invalid_request_error"}}, status_code=400
            )
        if self.context_limit is not None and tokens > self.context_limit:
            message = (
                f"This model's maximum context length is {self.context_limit} tokens. However, your messages "
                f"resulted in {tokens} tokens. Please reduce the length of the messages."
            )
            error = {"message": message, "type": "invalid_request_error", "param": "messages", "code": "context_length_exceeded"}  # fmt: skip
            return JSONResponse({"error": error}, status_code=400)
        plan = self._plan_for(body)
        step = plan.pop(0) if plan else {"text": "(no more plan)"}
        if "status" in step:
            return JSONResponse(
                {"error": {"message": step.get("message", "scripted error")}}, status_code=step["status"]
            )
        if "sleep" in step:
            await asyncio.sleep(step["sleep"])
        completion_tokens = step.get("completion_tokens", 7)
        usage = {
            "prompt_tokens": tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": tokens + completion_tokens,
        }
        if not body.get("stream"):
            message = {"role": "assistant", "content": step.get("text") or "".join(step.get("pieces") or [])}
            return JSONResponse({"id": "c1", "object": "chat.completion", "created": 0, "model": body.get("model", "m"),
                                 "choices": [{"index": 0, "message": message, "finish_reason": "stop"}], "usage": usage})  # fmt: skip

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
                    # Some servers' streaming stops on a disconnect only at their next write; ask, so an
                    # abandoned stream is counted as soon as the client has gone, whatever the server version.
                    if step.get("delay") and await request.is_disconnected():
                        return
                for i, call in enumerate(step.get("tool_calls", [])):
                    call_id = call.get("id") or f"call_{len(self.requests)}_{i}"
                    yield chunk({"tool_calls": [{"index": i, "id": call_id, "type": "function",
                                                 "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]})  # fmt: skip
                yield chunk({}, "tool_calls" if step.get("tool_calls") else "stop")
                if (body.get("stream_options") or {}).get("include_usage"):
                    data = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": body.get("model", "m"),
                            "choices": [], "usage": usage}  # fmt: skip
                    yield f"data: {json.dumps(data)}\n\n"
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
