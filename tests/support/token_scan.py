"""A pytest plugin: no OAuth token may appear in any frame, log, error or file of the whole test run.

Every token the Notion-compatible server issues, in any test, is appended to one file
(``DEV_NOTION_ISSUED_LOG``). After each test, the frames and stderr of every host a test drove are searched;
at the end of the run, so are every file the run left in pytest's temporary folder (host logs, configurations,
browser profiles, token stores) and the text of every test report (assertion messages, captured output). Any
issued value found fails the run, naming where it was found but never printing the value.

Searching is by the server's token shape and then by membership in the issued set, so it stays fast on large
browser profiles and a token-shaped string made up by a test is not mistaken for a leak.

Tokens must also never be *sent* anywhere but where they were issued: every Python process the run starts
records its outgoing HTTP requests (tests/support/http_audit, on PYTHONPATH while the tests run), and a token
seen in a request to any origin other than the one that issued it is a leak too.

A scan that sees nothing finds nothing, so the scan checks its own wiring and fails the run when it is broken
(``problems``): before a Notion-compatible server is stopped, every token it says it issued must be in the
issued log; every token-shaped value a process sent over HTTP must be one that was issued; tokens issued
means requests carrying them were audited; hosts watched means frames were searched.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dev_notion.testing import DevNotionProcess
from devkit.host_process import HostProcess
from tests.support import figures as figure_files

TOKEN_SHAPE = re.compile(rb"ntn_(?:at|rt)_[A-Za-z0-9_-]{32}")
ENV = "DEV_NOTION_ISSUED_LOG"
AUDIT_ENV = "NOTION_BRIDGE_TEST_HTTP_AUDIT"
AUDIT_HOOK = Path(__file__).parent / "http_audit"


@dataclass
class _Watched:
    host: HostProcess
    where: str
    frames_scanned: int = 0
    stderr_scanned: int = 0


@dataclass
class TokenScan:
    issued_log: Path
    audit_folder: Path
    hosts: list[_Watched] = field(default_factory=list)
    found: dict[bytes, set[str]] = field(default_factory=dict)
    """Token-shaped values seen, and where; compared with the issued set at the end."""
    frames: int = 0
    host_count: int = 0
    files: int = 0
    bytes_read: int = 0
    reports: int = 0
    current_test: str = "(collection)"
    servers_checked: int = 0
    tokens_servers_reported: int = 0
    unlogged: dict[str, int] = field(default_factory=dict)
    """Servers (by origin) that reported issuing tokens the issued log does not hold, and how many."""

    def _look(self, data: bytes, where: str) -> None:
        for match in TOKEN_SHAPE.findall(data):
            self.found.setdefault(match, set()).add(where)

    def watch(self, host: HostProcess) -> None:
        self.hosts.append(_Watched(host, self.current_test))
        self.host_count += 1

    def scan_hosts(self, *, final: bool = False) -> None:
        """Scan what each host sent since the last look; forget hosts that have exited and said everything."""
        for watched in list(self.hosts):
            host = watched.host
            finished = host.closed.is_set() and host.proc.poll() is not None
            frames = host.frames[watched.frames_scanned :]
            watched.frames_scanned += len(frames)
            self.frames += len(frames)
            if frames:
                self._look(json.dumps(frames).encode(), f"frames of a host started by {watched.where}")
            lines = host.stderr_lines[watched.stderr_scanned :]
            watched.stderr_scanned += len(lines)
            if lines:
                self._look("\n".join(lines).encode(), f"stderr of a host started by {watched.where}")
            if finished or final:
                self.hosts.remove(watched)

    def scan_tree(self, root: Path) -> None:
        for path in root.rglob("*"):
            try:
                if not path.is_file() or path.is_symlink():
                    continue
                data = path.read_bytes()
            except OSError:
                continue
            self.files += 1
            self.bytes_read += len(data)
            self._look(data, f"file {path.relative_to(root)}")

    def scan_report(self, report: pytest.TestReport) -> None:
        self.reports += 1
        text = report.longreprtext + "".join(content for _name, content in report.sections)
        if text:
            self._look(text.encode(), f"the report of {report.nodeid}")

    def issued_at(self) -> dict[bytes, str]:
        """Every token value the servers issued, and the origin that issued it."""
        if not self.issued_log.exists():
            return {}
        pairs = (line.split(b"\t") for line in self.issued_log.read_bytes().splitlines() if line)
        return {p[0]: (p[1].decode() if len(p) > 1 else "") for p in pairs}

    def issued(self) -> set[bytes]:
        return set(self.issued_at())

    def requests(self) -> list[dict[str, Any]]:
        """Every outgoing HTTP request the run's processes recorded (origin and token hashes)."""
        records = []
        for path in sorted(self.audit_folder.glob("*.jsonl")):
            records += [json.loads(line) for line in path.read_text().splitlines() if line]
        return records

    def sent_elsewhere(self) -> dict[str, set[str]]:
        """Tokens seen in a request to an origin other than the one that issued them."""
        by_hash = {hashlib.sha256(v).hexdigest(): origin for v, origin in self.issued_at().items()}
        wrong: dict[str, set[str]] = {}
        for record in self.requests():
            for digest in record["tokens"]:
                issuer = by_hash.get(digest)
                if issuer is not None and record["origin"] != issuer.lower():
                    wrong.setdefault(f"token {digest[:8]}", set()).add(f"a request to {record['origin']}")
        return wrong

    def check_server(self, origin: str, reported: list[str]) -> None:
        """A server's own list of the tokens it issued, compared with the issued log before it goes."""
        self.servers_checked += 1
        self.tokens_servers_reported += len(reported)
        missing = {t.encode() for t in reported} - self.issued()
        if missing:
            self.unlogged[origin] = self.unlogged.get(origin, 0) + len(missing)

    def problems(self) -> list[str]:
        """Why this scan could not have found a leak, if it could not: each one fails the run."""
        found: list[str] = []
        for origin, count in self.unlogged.items():
            found.append(
                f"the server at {origin} issued {count} token(s) the issued log ({ENV}) never received"
            )
        issued = {hashlib.sha256(v).hexdigest() for v in self.issued()}
        requests = self.requests()
        carried = {digest for record in requests for digest in record["tokens"]}
        if carried - issued:
            found.append(
                f"{len(carried - issued)} token value(s) were sent over HTTP that no server logged as issued "
                f"(is {ENV} reaching the servers?)"
            )
        if issued and not carried:
            found.append(
                f"{len(issued)} token values were issued but no audited HTTP request carried one "
                f"(is tests/support/http_audit loaded by the hosts? {AUDIT_ENV})"
            )
        if self.host_count and not self.frames:
            found.append(f"{self.host_count} hosts were watched but not one frame was searched")
        return found

    def figures(self) -> dict[str, Any]:
        requests = self.requests()
        return {
            "token_values_issued": len(self.issued()),
            "servers_checked": self.servers_checked,
            "tokens_servers_reported": self.tokens_servers_reported,
            "frames": self.frames,
            "hosts": self.host_count,
            "files": self.files,
            "mib": round(self.bytes_read / 2**20, 1),
            "reports": self.reports,
            "requests_audited": len(requests),
            "requests_with_tokens": sum(1 for r in requests if r["tokens"]),
            "leaked": len(self.leaks()),
            "problems": len(self.problems()),
        }

    def leaks(self) -> dict[str, set[str]]:
        issued = self.issued()
        found = {
            f"token #{index}": places
            for index, (value, places) in enumerate(sorted(self.found.items()), 1)
            if value in issued
        }
        return {**found, **self.sent_elsewhere()}


_scan: TokenScan | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _scan
    folder = Path(tempfile.mkdtemp(prefix="issued-tokens-"))
    (folder / "requests").mkdir()
    _scan = TokenScan(folder / "issued.txt", folder / "requests")
    os.environ[ENV] = str(_scan.issued_log)
    os.environ[AUDIT_ENV] = str(_scan.audit_folder)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(AUDIT_HOOK), os.environ.get("PYTHONPATH", "")) if p
    )
    _audit_this_process()
    original_init = HostProcess.__init__

    def watched_init(self: HostProcess, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        if _scan is not None:
            _scan.watch(self)

    HostProcess.__init__ = watched_init  # type: ignore[method-assign]

    original_kill = DevNotionProcess.kill

    def checked_kill(self: DevNotionProcess) -> None:
        if _scan is not None and self.auth and self.proc is not None and self.proc.poll() is None:
            try:
                reported = self.admin("issued-tokens")["tokens"]
            except Exception:  # a server a test left unable to answer: nothing to compare
                reported = None
            if reported is not None:
                _scan.check_server(self.url, reported)
        original_kill(self)

    DevNotionProcess.kill = checked_kill  # type: ignore[method-assign]


def _audit_this_process() -> None:
    """Tests send requests too (signing in by hand, refreshing with a stored token): the test process records
    its requests like every process it starts. The transports it has already imported are patched now."""
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("_token_scan_http_audit", AUDIT_HOOK / "sitecustomize.py")
    assert spec is not None and spec.loader is not None
    audit = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(audit)  # from now on, patches the transports when they are imported
    for name in audit._TARGETS:
        if name in sys.modules:
            audit._patch(sys.modules[name])


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if _scan is not None:
        _scan.current_test = item.nodeid


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if _scan is None:
        return
    _scan.scan_report(report)
    if report.when == "teardown":
        _scan.scan_hosts()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _scan is None:
        return
    _scan.scan_hosts(final=True)
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is not None:
        _scan.scan_tree(factory.getbasetemp())
    if _scan.leaks() or _scan.problems():
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    if _scan is not None:
        import shutil

        shutil.rmtree(_scan.issued_log.parent, ignore_errors=True)
        os.environ.pop(ENV, None)
        os.environ.pop(AUDIT_ENV, None)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _scan is None:
        return
    leaks = _scan.leaks()
    problems = _scan.problems()
    figures = _scan.figures()
    summary = (
        f"token scan: {figures['token_values_issued']} token values issued "
        f"({figures['tokens_servers_reported']} reported by {figures['servers_checked']} servers); searched "
        f"{figures['frames']} frames from {figures['hosts']} hosts, {figures['files']} files "
        f"({figures['mib']:.1f} MiB), {figures['reports']} test reports and {figures['requests_audited']} "
        f"outgoing HTTP requests ({figures['requests_with_tokens']} carrying tokens): {len(leaks)} leaked"
    )
    bad = bool(leaks or problems)
    terminalreporter.write_sep("=", summary, red=bad, green=not bad)
    for name, places in leaks.items():
        terminalreporter.write_line(f"LEAK {name} found in: {', '.join(sorted(places))}", red=True)
    for problem in problems:
        terminalreporter.write_line(f"TOKEN SCAN BROKEN: {problem}", red=True)
    if figures["token_values_issued"]:
        figure_files.record("token_scan", figures)
