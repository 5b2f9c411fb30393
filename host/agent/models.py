"""What the endpoint says about its models: context length, price, tool and image support.

``GET {base_url}/models`` answers ``{"data": [...]}``. OpenRouter's entries carry ``context_length``, ``pricing``
(US dollars per token, as strings), ``supported_parameters`` (``tools`` among them when the model can call
tools), ``architecture.input_modalities`` and ``top_provider.max_completion_tokens``; OpenAI's and most local
servers' carry only ``id``. What an entry does not say stays None ("not known"), never a guess.

The list is kept for an hour per endpoint (a failure for five minutes, so an endpoint without the route is not
asked before every turn).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any

log = logging.getLogger(__name__)

KEEP_S = 3600
KEEP_FAILURE_S = 300


@dataclass(frozen=True)
class ModelInfo:
    id: str
    name: str
    context_length: int | None = None
    prompt_price: float | None = None
    """US dollars per prompt token."""
    completion_price: float | None = None
    """US dollars per answer token."""
    request_price: float | None = None
    """US dollars per request, on top."""
    tools: bool | None = None
    """Whether the model can call tools; None when the endpoint does not say."""
    images: bool | None = None
    """Whether the model takes images; None when the endpoint does not say."""
    max_completion: int | None = None

    def wire(self) -> dict[str, Any]:
        return asdict(self)

    def cost(self, prompt_tokens: int, completion_tokens: int, requests: int = 1) -> float | None:
        if self.prompt_price is None or self.completion_price is None:
            return None
        return (
            prompt_tokens * self.prompt_price
            + completion_tokens * self.completion_price
            + requests * (self.request_price or 0.0)
        )


def _price(value: Any) -> float | None:
    try:
        price = float(value)
    except (TypeError, ValueError):
        return None
    return price if price >= 0 else None  # OpenRouter marks "variable" prices as -1


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _positive_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def parse_model(entry: Any) -> ModelInfo | None:
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or not entry["id"]:
        return None
    pricing = _object(entry.get("pricing"))
    parameters = entry.get("supported_parameters")
    modalities = _object(entry.get("architecture")).get("input_modalities")
    top = _object(entry.get("top_provider"))
    context = _positive_int(entry.get("context_length")) or _positive_int(top.get("context_length"))
    return ModelInfo(
        id=entry["id"],
        name=entry["name"] if isinstance(entry.get("name"), str) and entry["name"] else entry["id"],
        context_length=context,
        prompt_price=_price(pricing.get("prompt")),
        completion_price=_price(pricing.get("completion")),
        request_price=_price(pricing.get("request")),
        tools=("tools" in parameters) if isinstance(parameters, list) else None,
        images=("image" in modalities) if isinstance(modalities, list) else None,
        max_completion=_positive_int(top.get("max_completion_tokens")),
    )


def parse_models(payload: Any) -> list[ModelInfo]:
    entries = payload.get("data") if isinstance(payload, dict) else payload
    if not isinstance(entries, list):
        raise ValueError("the endpoint's model list has no data array")
    found = [model for model in (parse_model(entry) for entry in entries) if model is not None]
    return sorted(found, key=lambda m: m.name.lower())


class ModelCatalogue:
    """The model list of each endpoint, fetched when first needed and kept for a while."""

    def __init__(self) -> None:
        self._kept: dict[str, tuple[float, list[ModelInfo] | None, str]] = {}

    async def models(
        self, base_url: str, fetch: Callable[[], Awaitable[Any]], *, fresh: bool = False
    ) -> tuple[list[ModelInfo] | None, str]:
        """(models, "") or (None, why they could not be had). ``fresh`` asks the endpoint again."""
        kept = self._kept.get(base_url)
        now = time.monotonic()
        if kept and not fresh and now < kept[0]:
            return kept[1], kept[2]
        try:
            models: list[ModelInfo] | None = parse_models(await fetch())
            problem = ""
        except Exception as exc:
            log.info("no model list from %s: %s", base_url, exc)
            models, problem = None, _words(exc)
        self._kept[base_url] = (now + (KEEP_S if models is not None else KEEP_FAILURE_S), models, problem)
        return models, problem

    async def find(self, base_url: str, model: str, fetch: Callable[[], Awaitable[Any]]) -> ModelInfo | None:
        models, _ = await self.models(base_url, fetch)
        return next((m for m in models or [] if m.id == model), None)


def _words(exc: BaseException) -> str:
    status = getattr(exc, "status_code", None)
    if status is not None:
        return f"the endpoint answered HTTP {status} for its model list"
    return f"the model list could not be read: {getattr(exc, 'message', None) or exc}"
