"""A stranger's server: an HTTP listener on 127.0.0.1 that records every request it gets and serves nothing.

The security tests point a server entry (or the chat endpoint) at it after signing in elsewhere, then check
that nothing secret ever arrived: no ``Authorization`` header, no token or key anywhere in a request.
"""

from __future__ import annotations

import http.server
import threading
from dataclasses import dataclass, field
from typing import Any

from tests.support.processes import free_port


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def text(self) -> str:
        head = "\n".join(f"{k}: {v}" for k, v in self.headers.items())
        return f"{self.method} {self.path}\n{head}\n\n{self.body.decode('utf-8', 'replace')}"


@dataclass
class Stranger:
    port: int = field(default_factory=free_port)
    seen: list[Seen] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Stranger:
        seen = self.seen

        class Handler(http.server.BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else b""
                seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
                self.send_response(404)
                self.send_header("content-length", "0")
                self.end_headers()

            do_GET = do_POST = do_DELETE = do_PUT = _record

            def log_message(self, *args: Any) -> None:
                pass

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def authorization_headers(self) -> list[str]:
        return [s.headers[k] for s in self.seen for k in s.headers if k.lower() == "authorization"]

    def saw_any(self, secrets: list[str]) -> list[str]:
        """Which of ``secrets`` (by position, never by value) appeared in any request."""
        everything = "\n".join(s.text() for s in self.seen)
        return [f"secret #{i}" for i, secret in enumerate(secrets, 1) if secret in everything]
