"""ping, status.get, config.get, llm.configure, llm.models: questions about the host itself, and its chat model."""

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
    from host.agent.prompt import DEFAULT_SYSTEM_PROMPT

    config = services.config.current
    result = config.model_dump(mode="json")
    # Whether a key is stored for this endpoint, never the key itself.
    result["llm"]["has_api_key"] = await services.auth.model_key.has_key_for(config.llm.base_url)
    # What the options page shows, and puts back with "Reset", when the person has no prompt of their own.
    result["llm"]["default_system_prompt"] = DEFAULT_SYSTEM_PROMPT
    return result


class LLMConfigure(Request):
    """Set the chat model's endpoint and model. The API key goes to the keychain with the origin it was entered
    for, never into the configuration; a key with a plain-HTTP URL that is not this machine is refused."""

    type: Literal["llm.configure"]
    base_url: str = Field(pattern=r"^https?://")
    model: str = Field(min_length=1)
    api_key: str | None = Field(default=None, repr=False)
    """Absent: keep the stored key while the endpoint's origin stays the same. Empty string: forget it."""
    system_prompt: str | None = Field(default=None, max_length=20_000)
    """The chat's system prompt; ``{today}`` and ``{servers}`` are filled in. Absent: keep it. Null or only
    whitespace: back to the default (``config.get`` gives it as ``llm.default_system_prompt``)."""
    context_length: int | None = Field(default=None, ge=512, le=10_000_000)
    """This model's context in tokens, for an endpoint whose model list does not say. Absent: keep it. Null:
    forget it (the list, or a cautious default, decides)."""
    summarize: bool | None = None
    """Summarise turns that no longer fit the model's context instead of only leaving them out. Absent: keep."""


class LLMConfigured(TypedDict):
    base_url: str
    model: str
    system_prompt: str | None
    context_length: int | None
    summarize: bool
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

    given = request.model_fields_set

    def store(config: Any) -> None:
        llm = config.llm
        llm.base_url = request.base_url
        llm.model = request.model
        if "system_prompt" in given:
            prompt = request.system_prompt
            llm.system_prompt = prompt if prompt and prompt.strip() else None
        if "context_length" in given:
            if request.context_length is None:
                llm.context_lengths.pop(request.model, None)
            else:
                llm.context_lengths[request.model] = request.context_length
        if request.summarize is not None:
            llm.summarize = request.summarize

    stored = services.config.update(store).llm
    result: LLMConfigured = {
        "base_url": request.base_url,
        "model": request.model,
        "system_prompt": stored.system_prompt,
        "context_length": stored.context_lengths.get(request.model),
        "summarize": stored.summarize,
        "has_api_key": change.has_key,
        "key_forgotten": change.forgotten,
    }
    if change.forgotten:
        result["notice"] = (
            "The API key was forgotten: it was entered for another endpoint, and a key only ever goes to the "
            "endpoint it was entered for. Enter the key for this endpoint if it needs one."
        )
    return result


class LLMModels(Request):
    """The endpoint's models (``GET {base_url}/models``), with what it says of each: context, prices, whether
    it calls tools and takes images. Kept by the host for an hour; the picker in the options page shows them."""

    type: Literal["llm.models"]
    base_url: str | None = Field(default=None, pattern=r"^https?://")
    """Absent: the configured endpoint. The stored API key goes along only to the origin it was entered for."""
    fresh: bool = False
    """Ask the endpoint again rather than use the list the host keeps."""


class ModelEntry(TypedDict):
    id: str
    name: str
    context_length: int | None
    """Tokens; null when the endpoint does not say."""
    prompt_price: float | None
    """US dollars per prompt token; null when not known."""
    completion_price: float | None
    """US dollars per answer token; null when not known."""
    request_price: float | None
    tools: bool | None
    """Whether it can call tools; null when the endpoint does not say."""
    images: bool | None
    """Whether it takes images; null when the endpoint does not say."""
    max_completion: int | None


class ModelList(TypedDict):
    base_url: str
    models: list[ModelEntry]
    """Empty when the endpoint gave no list (``error`` says why)."""
    default_model: str | None
    """The model a new user gets on this endpoint, when there is one (OpenRouter's: a free model that calls
    tools)."""
    error: NotRequired[str]


@handles(LLMModels)
async def llm_models(services: Services, request: LLMModels) -> ModelList:
    from host.config import OPENROUTER_DEFAULT_MODEL, OPENROUTER_URL
    from host.origins import origin

    base_url = request.base_url or services.config.current.llm.base_url
    models, problem = await services.chat.models(base_url, fresh=request.fresh)
    try:
        on_openrouter = origin(base_url) == origin(OPENROUTER_URL)
    except ValueError:
        on_openrouter = False
    result: ModelList = {
        "base_url": base_url,
        "models": [m.wire() for m in models or []],  # type: ignore[misc]
        "default_model": OPENROUTER_DEFAULT_MODEL if on_openrouter else None,
    }
    if models is None:
        result["error"] = problem
    return result
