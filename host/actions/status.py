"""ping, status.get, config.get: questions about the host itself."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from host import PROTOCOL_VERSION, __version__
from host.protocol import ConfigGet, LLMConfigure, Ping, StatusGet

if TYPE_CHECKING:
    from host.app import Host


async def ping(host: Host, request: Ping) -> dict[str, Any]:
    return {"pong": True, "time": time.time(), "protocol": PROTOCOL_VERSION, "host_version": __version__}


async def status_get(host: Host, request: StatusGet) -> dict[str, Any]:
    return host.status_message()


async def config_get(host: Host, request: ConfigGet) -> dict[str, Any]:
    config = host.config.model_dump(mode="json")
    # Whether a key is stored, never the key itself.
    config["llm"]["has_api_key"] = await host.auth.has_llm_key()
    return config


async def llm_configure(host: Host, request: LLMConfigure) -> dict[str, Any]:
    from host import config as config_store

    def change(cfg: Any) -> None:
        cfg.llm.base_url = request.base_url
        cfg.llm.model = request.model

    host.config = config_store.update(change)
    if request.api_key is not None:
        await host.auth.set_llm_key(request.api_key or None)
    return {
        "base_url": request.base_url,
        "model": request.model,
        "has_api_key": await host.auth.has_llm_key(),
    }
