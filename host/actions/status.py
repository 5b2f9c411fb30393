"""ping, status.get, config.get, llm.configure: questions about the host itself, and its chat model."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from pydantic import Field
from typing_extensions import TypedDict

from host import PROTOCOL_VERSION, __version__
from host.protocol.events import ServerStatus
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


class Ping(Request):
    """Is the host there? The extension's watchdog asks now and then."""

    type: Literal["ping"]


class Pong(TypedDict):
    pong: bool
    time: float
    protocol: int
    host_version: str


@handles(Ping)
async def ping(services: Services, request: Ping) -> Pong:
    return {"pong": True, "time": time.time(), "protocol": PROTOCOL_VERSION, "host_version": __version__}


class StatusGet(Request):
    """The same object as the ``status`` event, now."""

    type: Literal["status.get"]


class StatusResult(TypedDict):
    type: Literal["status"]
    servers: list[ServerStatus]
    notices: list[str]


@handles(StatusGet)
async def status_get(services: Services, request: StatusGet) -> StatusResult:
    return services.status.snapshot().wire()  # type: ignore[return-value]


class ConfigGet(Request):
    """The stored configuration; it holds no secrets (the model key's presence is ``llm.has_api_key``)."""

    type: Literal["config.get"]


@handles(ConfigGet)
async def config_get(services: Services, request: ConfigGet) -> dict[str, Any]:
    config = services.config.current
    result = config.model_dump(mode="json")
    # Whether a key is stored for this endpoint, never the key itself.
    result["llm"]["has_api_key"] = await services.auth.model_key.has_key_for(config.llm.base_url)
    return result


class LLMConfigure(Request):
    """Set the chat model's endpoint and model. The API key goes to the keychain with the origin it was entered
    for, never into the configuration; a key with a plain-HTTP URL that is not this machine is refused."""

    type: Literal["llm.configure"]
    base_url: str = Field(pattern=r"^https?://")
    model: str = Field(min_length=1)
    api_key: str | None = Field(default=None, repr=False)
    """Absent: keep the stored key while the endpoint's origin stays the same. Empty string: forget it."""


class LLMConfigured(TypedDict):
    base_url: str
    model: str
    has_api_key: bool
    key_forgotten: bool
    """The endpoint moved to another origin without a new key, so the stored one was forgotten."""
    notice: NotRequired[str]


@handles(LLMConfigure)
async def llm_configure(services: Services, request: LLMConfigure) -> LLMConfigured:
    previous_url = services.config.current.llm.base_url
    # The key first: a key refused for this endpoint leaves the endpoint as it was, too.
    change = await services.auth.model_key.configure(
        request.base_url, request.api_key, previous_url=previous_url
    )

    def store(config: Any) -> None:
        config.llm.base_url = request.base_url
        config.llm.model = request.model

    services.config.update(store)
    result: LLMConfigured = {
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
