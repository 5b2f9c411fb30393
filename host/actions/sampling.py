"""sampling.respond: the person's answer to a server's request for the model (host.sampling)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from host.actions.tools import Delivered
from host.errors import BridgeError, ErrorCode
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


class SamplingRespond(Request):
    """The person's answer to ``sampling.request`` (approve: ask the model) or to ``sampling.draft`` (approve:
    send the answer, as edited in ``text``). Decline, at either step, is an error to the server."""

    type: Literal["sampling.respond"]
    sampling_id: str
    action: Literal["approve", "decline"]
    text: str | None = Field(default=None, max_length=1_000_000)
    """The answer to send, as the person edited it (``sampling.draft`` step only; absent: as drafted)."""


@handles(SamplingRespond)
async def sampling_respond(services: Services, request: SamplingRespond) -> Delivered:
    if not services.sampling.respond(request.sampling_id, request.action, request.text):
        raise BridgeError(
            ErrorCode.UNKNOWN_SAMPLING, f"no model request with id {request.sampling_id!r} is waiting"
        )
    return {"delivered": True}
