"""doctor's "logs" line: where the host's logs are, so a person knows where to look (and ``notion-bridge logs``)."""

from __future__ import annotations

from host import paths
from host.logs import log_files
from installer.doctor.report import Check


def check_logs() -> Check:
    folder = paths.log_dir(create=False)
    files = log_files(folder) if folder.is_dir() else []
    if not files:
        return Check("logs", "ok", f"no host logs yet; each host writes its own file in {folder}")
    return Check(
        "logs",
        "ok",
        f"{len(files)} host log file(s) in {folder}, newest {files[0].name}; "
        "`notion-bridge logs` shows them with secrets hidden",
    )
