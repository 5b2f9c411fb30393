"""Run a stdio MCP server with everything the client writes to it noted in a file, one JSON-RPC message a line:
what the server saw, for a server whose code no one here can change.

    python -m tests.support.wire_tap LOGFILE COMMAND ARGS...
"""

from __future__ import annotations

import subprocess
import sys
import threading


def main() -> None:
    log_path, command = sys.argv[1], sys.argv[2:]
    child = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert child.stdin is not None and child.stdout is not None
    child_in, child_out = child.stdin, child.stdout

    def to_client() -> None:
        for line in iter(child_out.readline, b""):
            sys.stdout.buffer.write(line)
            sys.stdout.buffer.flush()

    threading.Thread(target=to_client, daemon=True).start()
    with open(log_path, "ab") as log:
        for line in iter(sys.stdin.buffer.readline, b""):
            log.write(line)
            log.flush()
            try:
                child_in.write(line)
                child_in.flush()
            except BrokenPipeError:
                break
    child_in.close()
    child.wait()


if __name__ == "__main__":
    main()
