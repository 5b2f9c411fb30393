"""prompts.list, prompts.get, completion.complete: a server's ready-made prompts and help filling them in.

A prompt has ``arguments`` (name, description, required); ``prompts.get`` fills them in and gives the messages,
in MCP wire form. Where the server offers completion, ``completion.complete`` suggests values for a prompt's
argument or a resource template's variable as the person types.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from host.protocol.verbs import Message, Request, handles
from host.protocol.wire import mcp_wire

if TYPE_CHECKING:
    from host.services import Services


class PromptsList(Request):
    """The server's prompts, in MCP wire form (``name``, ``title``, ``description``, ``arguments``)."""

    type: Literal["prompts.list"]
    server: str


class Prompts(TypedDict):
    server: str
    prompts: list[dict[str, Any]]


@handles(PromptsList)
async def prompts_list(services: Services, request: PromptsList) -> Prompts:
    supervisor = services.servers.get(request.server)
    found = await supervisor.ask("the list of prompts", "prompts", lambda c: c.list_prompts())
    return {
        "server": request.server,
        "prompts": [mcp_wire(p) for p in found],
    }


class PromptsGet(Request):
    """A prompt with its arguments filled in: the MCP ``GetPromptResult`` (``description``, ``messages``)."""

    type: Literal["prompts.get"]
    server: str
    name: str = Field(min_length=1)
    arguments: dict[str, str] = Field(default_factory=dict)


@handles(PromptsGet)
async def prompts_get(services: Services, request: PromptsGet) -> dict[str, Any]:
    supervisor = services.servers.get(request.server)
    result = await supervisor.ask(
        f"the prompt {request.name}", "prompts", lambda c: c.get_prompt(request.name, request.arguments)
    )
    return mcp_wire(result)


class CompletionRef(Message):
    """What is being filled in: a prompt (``ref/prompt`` with ``name``) or a resource template (``ref/resource``
    with its ``uri`` template)."""

    type: Literal["ref/prompt", "ref/resource"]
    name: str | None = None
    uri: str | None = None


class CompletionArgument(Message):
    name: str
    value: str = Field(max_length=10_000)
    """What the person has typed so far."""


class CompletionComplete(Request):
    """Suggestions for an argument's value, from servers that offer completion."""

    type: Literal["completion.complete"]
    server: str
    ref: CompletionRef
    argument: CompletionArgument
    context: dict[str, str] | None = None
    """The values of the other arguments filled in so far."""


class Completion(TypedDict):
    values: list[str]
    total: int | None
    hasMore: bool | None


class Completed(TypedDict):
    completion: Completion


@handles(CompletionComplete)
async def completion_complete(services: Services, request: CompletionComplete) -> Completed:
    from host.errors import BridgeError, ErrorCode

    ref = request.ref
    if (ref.type == "ref/prompt" and not ref.name) or (ref.type == "ref/resource" and not ref.uri):
        raise BridgeError(
            ErrorCode.INVALID_ARGUMENTS, "ref: a prompt needs its name, a resource template its uri"
        )
    supervisor = services.servers.get(request.server)
    argument = {"name": request.argument.name, "value": request.argument.value}
    result = await supervisor.ask(
        f"completion of {request.argument.name}",
        "completions",
        lambda c: c.complete(ref.model_dump(exclude_none=True), argument, request.context),
    )
    completion = result.completion
    return {
        "completion": {
            "values": list(completion.values)[:100],
            "total": completion.total,
            "hasMore": completion.has_more,
        }
    }
