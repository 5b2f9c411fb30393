"""``python -m host <origin>``: the process the browser starts for the extension.

The first frame must reach the browser within 100 ms, so this module imports only the standard library and
host.framing before writing it; asyncio, pydantic and the MCP SDK come after.
"""

from __future__ import annotations

import json
import os
import sys

from host import EXTENSION_ID, PROTOCOL_VERSION, __version__, framing
from host.errors import ErrorCode
from host.protocol.wire import ErrorEvent, Hello


def _origin_allowed(origin: str) -> bool:
    if origin == f"chrome-extension://{EXTENSION_ID}/":
        return True
    # Extra IDs added with `install --extension-id`; read without pydantic to keep start-up fast.
    from host import paths

    try:
        stored = json.loads(paths.config_file().read_text(encoding="utf-8"))
        extra = stored.get("allowed_extension_ids", [])
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(extra, list) and origin in {f"chrome-extension://{ext_id}/" for ext_id in extra}


async def _serve(writer: framing.FrameWriter, origin: str) -> None:
    # The local servers start first, so that their own start-up overlaps the host's import of the rest.
    from host import prestart
    from host.config import ConfigStore

    config = ConfigStore()
    await prestart.start_early(config)
    from host.app import exit_watchdog, serve

    # From the browser's EOF on, the process is gone within EXIT_DEADLINE_S whatever else happens.
    await serve(writer, origin, on_eof=exit_watchdog, config=config)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    # Chrome passes the caller's origin first (and on Windows --parent-window=N after it).
    origin = next((a for a in args if a.startswith("chrome-extension://")), "")
    writer = framing.FrameWriter(framing.claim_stdout())
    if not _origin_allowed(origin):
        shown = origin or "no origin"
        writer.send(
            ErrorEvent.of(
                ErrorCode.FORBIDDEN_ORIGIN,
                f"this host serves the Notion MCP Bridge extension only, not {shown}",
            )
        )
        return 1
    writer.send(Hello(protocol=PROTOCOL_VERSION, host_version=__version__))

    from host.logs import setup_logging

    setup_logging()
    import asyncio

    try:
        asyncio.run(_serve(writer, origin))
    except KeyboardInterrupt:
        pass
    finally:
        import logging

        logging.shutdown()
    # Exit now rather than wait on threads or sessions that did not close in the grace period. Children
    # that did not exit when their stdin closed were stopped by then (Host.shutdown, or the watchdog).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
