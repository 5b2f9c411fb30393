"""tools.list, tool.call, tool.cancel: using a server's tools."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.actions.errors import ActionError
from host.protocol import ElicitationRespond, ErrorCode, ToolCall, ToolCancel, ToolsList
from host.supervisor import CallFailed

if TYPE_CHECKING:
    from host.app import Host


async def tools_list(host: Host, request: ToolsList) -> dict[str, Any]:
    supervisor = host.supervisor(request.server)
    try:
        supervisor.require_connection()
    except CallFailed as exc:
        raise ActionError(exc.code, exc.message) from None
    return {"server": request.server, "tools": supervisor.tools_wire()}


async def tool_call(host: Host, request: ToolCall) -> dict[str, Any]:
    supervisor = host.supervisor(request.server)
    try:
        return await supervisor.call_tool(request.id, request.tool, request.arguments, request.timeout_s)
    except CallFailed as exc:
        raise ActionError(exc.code, exc.message) from None


async def elicitation_respond(host: Host, request: ElicitationRespond) -> dict[str, Any]:
    if not host.elicitations.answer(request.elicitation_id, request.action, request.content):
        raise ActionError(
            ErrorCode.UNKNOWN_ELICITATION, f"no question with id {request.elicitation_id!r} is waiting"
        )
    return {"delivered": True}


async def tool_cancel(host: Host, request: ToolCancel) -> dict[str, Any]:
    for supervisor in host.supervisors.values():
        if supervisor.cancel_call(request.call_id):
            return {"cancelled": True}
    raise ActionError(ErrorCode.UNKNOWN_CALL, f"no tool call with id {request.call_id!r} is in flight")
