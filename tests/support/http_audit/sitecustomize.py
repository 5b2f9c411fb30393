"""Test kit, loaded into every Python process the test suite starts (PYTHONPATH points here while tests run).

It records every HTTP request those processes send through httpx or httpx2 — the host's MCP sessions, its OAuth
refreshes and revocations, the chat model's client — as one JSON line: the origin it went to and the SHA-256 of
every token-shaped value in its headers and body. tests.support.token_scan then checks, for the whole run, that
each token the Notion-compatible server issued went to the origin that issued it and nowhere else. Hashes, not
values, so this record is not itself a copy of the tokens.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.util
import json
import os
import re
import sys
import threading
from typing import Any
from urllib.parse import urlsplit

_FOLDER = os.environ.get("NOTION_BRIDGE_TEST_HTTP_AUDIT")
_TOKEN_SHAPE = re.compile(rb"ntn_(?:at|rt)_[A-Za-z0-9_-]{32}")
_TARGETS = {"httpx._transports.default", "httpx2._transports.default"}
_lock = threading.Lock()


def _origin(url: Any) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}".lower()


def _record(request: Any) -> None:
    try:
        body = request.content
    except Exception:  # a streamed body: nothing we send is streamed, but never break the request
        body = b""
    headers = b"\n".join(k + b": " + v for k, v in request.headers.raw)
    tokens = sorted({hashlib.sha256(m).hexdigest() for m in _TOKEN_SHAPE.findall(headers + b"\n" + body)})
    line = json.dumps({"origin": _origin(request.url), "tokens": tokens, "argv0": sys.argv[0][-60:]})
    assert _FOLDER is not None
    with _lock, open(os.path.join(_FOLDER, f"{os.getpid()}.jsonl"), "a", encoding="utf-8") as out:
        out.write(line + "\n")


def _patch(module: Any) -> None:
    async_cls = module.AsyncHTTPTransport
    sync_cls = module.HTTPTransport
    original_async = async_cls.handle_async_request
    original_sync = sync_cls.handle_request

    async def handle_async_request(self: Any, request: Any) -> Any:
        _record(request)
        return await original_async(self, request)

    def handle_request(self: Any, request: Any) -> Any:
        _record(request)
        return original_sync(self, request)

    async_cls.handle_async_request = handle_async_request
    sync_cls.handle_request = handle_request


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Patch the transports when (and if) a process imports them: nothing is imported early on its behalf,
    so start-up stays as it is."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in _TARGETS:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        original_exec = loader.exec_module  # type: ignore[attr-defined]

        def exec_module(module: Any) -> None:
            original_exec(module)
            _patch(module)

        loader.exec_module = exec_module  # type: ignore[attr-defined]
        return spec


if _FOLDER:
    sys.meta_path.insert(0, _PatchOnImport())
