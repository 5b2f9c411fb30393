"""tools.list, tool.call, tool.cancel, elicitation.respond: using a server's tools, and its questions on the way.

A tool that runs and reports a failure is a successful request whose result has ``isError: true``: the server
answered. A request that produced no answer from the server is a failed reply; calls are never retried by the
host, since the server may already have carried them out.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field
from typing_extensions import TypedDict

from host.errors import BridgeError, ErrorCode
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services

#: A tool's answer, in MCP's own wire form (camelCase): ``content``, ``structuredContent``?, ``isError``.
CallToolResult = dict[str, Any]


class ToolsList(Request):
    """The server's tools, in MCP wire form (``name``, ``description``, ``inputSchema``, ``annotations``, …)."""

    type: Literal["tools.list"]
    server: str
    include_disabled: bool = False
    """Also the tools the person switched off (the options page lists them to switch back on)."""


class Tools(TypedDict):
    server: str
    tools: list[dict[str, Any]]
    disabled: list[str]
    """The tools switched off for this server (``disabled_tools``)."""


@handles(ToolsList)
async def tools_list(services: Services, request: ToolsList) -> Tools:
    supervisor = services.servers.get(request.server)
    supervisor.require_connection()
    return {
        "server": request.server,
        "tools": supervisor.tools_wire(include_disabled=request.include_disabled),
        "disabled": list(supervisor.config.disabled_tools),
    }


class ToolCall(Request):
    """Call a tool; the reply is the MCP ``CallToolResult`` in wire form."""

    type: Literal["tool.call"]
    server: str
    tool: str = Field(min_length=1)
    arguments: dict[str, Any] = Field(default_factory=dict)
    timeout_s: float | None = Field(default=None, gt=0, le=3600)
    """Defaults to 120 s. The call fails with ``timeout`` after it and the server is told to cancel."""


@handles(ToolCall)
async def tool_call(services: Services, request: ToolCall) -> CallToolResult:
    supervisor = services.servers.get(request.server)
    return await supervisor.call_tool(request.id, request.tool, request.arguments, request.timeout_s)


class ToolCancel(Request):
    """Cancel a ``tool.call`` in flight; the call itself is answered with ``cancelled``."""

    type: Literal["tool.cancel"]
    call_id: str
    """The ``id`` of the ``tool.call`` request to cancel."""


class Cancelled(TypedDict):
    cancelled: bool


@handles(ToolCancel)
async def tool_cancel(services: Services, request: ToolCancel) -> Cancelled:
    for supervisor in services.servers.all():
        if supervisor.cancel_call(request.call_id):
            return {"cancelled": True}
    raise BridgeError(ErrorCode.UNKNOWN_CALL, f"no tool call with id {request.call_id!r} is in flight")


class ElicitationRespond(Request):
    """The person's answer to an ``elicitation.request``."""

    type: Literal["elicitation.respond"]
    elicitation_id: str
    action: Literal["accept", "decline", "cancel"]
    content: dict[str, Any] | None = None
    """What the person entered (``accept`` only), shaped by the question's ``requested_schema``."""


class Delivered(TypedDict):
    delivered: bool


@handles(ElicitationRespond)
async def elicitation_respond(services: Services, request: ElicitationRespond) -> Delivered:
    if not services.elicitations.answer(request.elicitation_id, request.action, request.content):
        raise BridgeError(
            ErrorCode.UNKNOWN_ELICITATION, f"no question with id {request.elicitation_id!r} is waiting"
        )
    return {"delivered": True}
