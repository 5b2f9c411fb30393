"""What each check found, and the report of them all: text for a person, or JSON that is safe to paste into a
bug report (home folder as ``~``, anything that looks like a credential redacted)."""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from host import EXTENSION_ID, PROTOCOL_VERSION, __version__

Status = Literal["ok", "warn", "fail"]


@dataclass
class Check:
    """One link looked at; ``fix`` says what to do about it when ``status`` is not ok."""

    name: str
    status: Status
    detail: str
    fix: str = ""


_SECRETS = [
    # Key/value pairs whose value is a credential, in JSON, query strings, headers and command lines.
    re.compile(
        r"(?i)(\b(?:access_?token|refresh_?token|id_?token|token|secret|client_secret|password|passwd|api_?key|"
        r"apikey|authorization|code|key)[\"']?\s*[:=]\s*[\"']?)(?:bearer\s+)?[^\s\"'&,;]+"
    ),
    re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(://)[^/\s:@]+:[^/\s@]+(?=@)"),  # user:password@ in URLs
]
_TOKEN_SHAPED = re.compile(
    r"\b(?:ntn_|secret_|sk-|ghp_|xox[abp]-)[A-Za-z0-9_\-]{8,}|\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-.]+|"
    r"\b(?=[A-Za-z0-9_\-]*[0-9])(?=[A-Za-z0-9_\-]*[A-Za-z])[A-Za-z0-9_\-]{40,}\b"
)


def redact(text: str, home: Path) -> str:
    """Home folder to ``~``, credentials and anything token-shaped to ``[redacted]``."""
    for form in sorted({str(home), home.as_posix(), os.path.realpath(home)}, key=len, reverse=True):
        if form and form not in ("/", "."):
            text = text.replace(form, "~")
    for pattern in _SECRETS:
        text = pattern.sub(lambda m: m.group(1) + "[redacted]", text)
    return _TOKEN_SHAPED.sub("[redacted]", text)


def _redact_tree(node: Any, home: Path) -> Any:
    if isinstance(node, str):
        return redact(node, home)
    if isinstance(node, list):
        return [_redact_tree(item, home) for item in node]
    if isinstance(node, dict):
        return {key: _redact_tree(value, home) for key, value in node.items()}
    return node


def report(checks: list[Check], *, as_json: bool, home: Path, platform: str = sys.platform) -> str:
    failed = sum(c.status == "fail" for c in checks)
    warned = sum(c.status == "warn" for c in checks)
    if as_json:
        # Redacted value by value, so a Windows home (backslashes, escaped in JSON text) is caught too.
        data = {
            "ok": failed == 0,
            "host_version": __version__,
            "protocol": PROTOCOL_VERSION,
            "platform": platform,
            "python": sys.executable,
            "extension_id": EXTENSION_ID,
            "checks": [asdict(c) for c in checks],
        }
        return json.dumps(_redact_tree(data, home), indent=2, ensure_ascii=False)
    marks = {"ok": "[ok]  ", "warn": "[warn]", "fail": "[FAIL]"}
    lines = []
    for check in checks:
        lines.append(f"{marks[check.status]} {check.name}: {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"       fix: {check.fix}")
    summary = "all checks passed" if not (failed or warned) else f"{failed} failed, {warned} warning(s)"
    lines.append(summary)
    return "\n".join(lines)
