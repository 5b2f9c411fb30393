"""ping, status.get, config.get: questions about the host itself."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from host import PROTOCOL_VERSION, __version__
from host.actions.errors import ActionError
from host.protocol import ConfigGet, ErrorCode, LLMConfigure, Ping, StatusGet

if TYPE_CHECKING:
    from host.app import Host


async def ping(host: Host, request: Ping) -> dict[str, Any]:
    return {"pong": True, "time": time.time(), "protocol": PROTOCOL_VERSION, "host_version": __version__}


async def status_get(host: Host, request: StatusGet) -> dict[str, Any]:
    return host.status_message()


async def config_get(host: Host, request: ConfigGet) -> dict[str, Any]:
    config = host.config.model_dump(mode="json")
    # Whether a key is stored for this endpoint, never the key itself.
    config["llm"]["has_api_key"] = await host.auth.model_key.has_key_for(host.config.llm.base_url)
    return config


async def llm_configure(host: Host, request: LLMConfigure) -> dict[str, Any]:
    from host import config as config_store
    from host.model_key import KeyRefused

    previous_url = host.config.llm.base_url
    try:
        # The key first: a key refused for this endpoint leaves the endpoint as it was, too.
        change = await host.auth.model_key.configure(
            request.base_url, request.api_key, previous_url=previous_url
        )
    except KeyRefused as exc:
        raise ActionError(ErrorCode.INVALID_ARGUMENTS, f"api_key: {exc}") from None

    def store(cfg: Any) -> None:
        cfg.llm.base_url = request.base_url
        cfg.llm.model = request.model

    host.config = config_store.update(store)
    result: dict[str, Any] = {
        "base_url": request.base_url,
        "model": request.model,
        "has_api_key": change.has_key,
        "key_forgotten": change.forgotten,
    }
    if change.forgotten:
        result["notice"] = (
            "The API key was forgotten: it was entered for another endpoint, and a key only ever goes to the "
            "endpoint it was entered for. Enter the key for this endpoint if it needs one."
        )
    return result
