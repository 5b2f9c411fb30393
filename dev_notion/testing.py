"""Running the Notion-compatible server as a real process for tests, the demo and the benchmarks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevNotionProcess:
    """``python -m dev_notion`` on 127.0.0.1, restartable on the same port (to test reconnection)."""

    def __init__(self, port: int | None = None, *, auth: bool = True, **options: Any) -> None:
        self.port = port or free_port()
        self.auth = auth
        self.options = options
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def mcp_url(self) -> str:
        return f"{self.url}/mcp"

    @property
    def sse_url(self) -> str:
        return f"{self.url}/sse"

    def start(self, timeout: float = 20) -> DevNotionProcess:
        args = [sys.executable, "-m", "dev_notion", "--port", str(self.port)]
        if not self.auth:
            args.append("--no-auth")
        for key, value in self.options.items():
            flag = "--" + key.replace("_", "-")
            if value is True:
                args.append(flag)
            elif value not in (None, False):
                args += [flag, str(value)]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"dev-notion exited at start: {err.strip()[-500:]}")
            try:
                httpx.get(f"{self.url}/_admin/stats", timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.05)
        raise RuntimeError(f"dev-notion did not serve on port {self.port} within {timeout} s")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def restart(self) -> DevNotionProcess:
        self.kill()
        return self.start()

    def admin(self, name: str, **payload: Any) -> Any:
        if name in ("stats", "pages", "issued-tokens"):
            response = httpx.get(f"{self.url}/_admin/{name}", params=payload, timeout=10)
        else:
            response = httpx.post(f"{self.url}/_admin/{name}", json=payload, timeout=10)
        response.raise_for_status()
        return response.json()

    def call(self, tool: str, **arguments: Any) -> Any:
        """A tool's answer (JSON parsed when it is JSON), straight from the workspace: no sign-in, not counted."""
        answer = self.admin("call", tool=tool, arguments=arguments)
        try:
            parsed: Any = json.loads(answer["text"])
        except ValueError:
            parsed = answer["text"]
        if answer["isError"]:
            raise AssertionError(f"{tool} failed: {answer['text'][:500]}")
        return parsed

    def __enter__(self) -> DevNotionProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.kill()


def answer_consent(authorize_url: str, decision: str = "allow") -> str:
    """Follow the authorization URL to the consent page, press Allow or Deny, return the final redirect URL."""
    with httpx.Client(follow_redirects=False, timeout=10) as client:
        response = client.get(authorize_url)
        location = response.headers.get("location", "")
        if "/consent" not in location:
            return location  # approved without a page (auto-approve)
        request_id = parse_qs(urlsplit(location).query)["request"][0]
        consent_url = str(response.url.join(location))
        assert client.get(consent_url).status_code == 200
        answered = client.post(
            str(response.url.join("/consent")), data={"request": request_id, "decision": decision}
        )
        assert answered.status_code == 302, answered.text
        return answered.headers["location"]
