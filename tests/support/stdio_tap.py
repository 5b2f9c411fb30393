"""Run a stdio MCP server and record every message the client sends it, as the server receives it.

    python -m tests.support.stdio_tap LOG_FILE COMMAND...

Each line the client writes (one JSON-RPC message) is appended to LOG_FILE before it is passed on, so a test can
show what reached the server, whatever the server then made of it (refused, failed or ran).
"""

from __future__ import annotations

import subprocess
import sys
import threading


def main() -> None:
    log_path, command = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=sys.stdout.buffer)
    assert child.stdin is not None

    def forward() -> None:
        with open(log_path, "ab") as log:
            for line in sys.stdin.buffer:
                log.write(line)
                log.flush()
                child.stdin.write(line)  # type: ignore[union-attr]
                child.stdin.flush()  # type: ignore[union-attr]
        child.stdin.close()  # type: ignore[union-attr]

    threading.Thread(target=forward, daemon=True).start()
    sys.exit(child.wait())


if __name__ == "__main__":
    main()
