"""ping, status.get, config.get: questions about the host itself."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from host import PROTOCOL_VERSION, __version__
from host.protocol import ConfigGet, Ping, StatusGet

if TYPE_CHECKING:
    from host.app import Host


async def ping(host: Host, request: Ping) -> dict[str, Any]:
    return {"pong": True, "time": time.time(), "protocol": PROTOCOL_VERSION, "host_version": __version__}


async def status_get(host: Host, request: StatusGet) -> dict[str, Any]:
    return host.status_message()


async def config_get(host: Host, request: ConfigGet) -> dict[str, Any]:
    return host.config.model_dump(mode="json")
