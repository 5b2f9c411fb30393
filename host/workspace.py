"""Which Notion workspace a connection is signed in to: its name and icon, for the person's cards and the chat.

Notion's hosted server does not say so in its token response. Its ``notion-fetch`` tool does, given the id
``self``: ``{"self": {"workspace": {"id", "name"}, "user": {...}, "current_tool_access": {...}}}`` in its text block.
A server that offers ``notion-fetch`` is asked once per session, right after it lists its tools; anything else
(another kind of server, a refusal, an answer of another shape) leaves the workspace unknown, and nothing fails.

Whether the hosted answer carries the workspace's icon is not documented (docs/notion-compat.md); the icon is
taken from ``self.workspace.icon`` when there is one (an emoji, or an https image address), and otherwise the
extension draws the workspace's initial.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from host.protocol.events import WorkspaceInfo
from host.protocol.wire import mcp_wire

log = logging.getLogger(__name__)

FETCH_TOOL = "notion-fetch"
ASK_TIMEOUT_S = 10.0
MAX_NAME = 100


def _icon(value: Any) -> str | None:
    if isinstance(value, dict):  # Notion's icon object
        value = (
            value.get("emoji")
            or (value.get("external") or {}).get("url")
            or (value.get("file") or {}).get("url")
        )
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("https://") and len(text) <= 2000 and not any(c.isspace() for c in text):
        return text
    # An emoji is a few code points; anything longer or with a scheme is not one to show.
    return text if len(text) <= 16 and ":" not in text else None


def parse_self(result: dict[str, Any]) -> WorkspaceInfo | None:
    """The workspace in a ``notion-fetch {"id": "self"}`` result (MCP wire form), or None."""
    if result.get("isError"):
        return None
    for block in result.get("content") or []:
        if block.get("type") != "text":
            continue
        try:
            answer = json.loads(block.get("text") or "")
        except ValueError:
            continue
        workspace = (answer.get("self") or {}).get("workspace") if isinstance(answer, dict) else None
        if not isinstance(workspace, dict):
            continue
        name = workspace.get("name")
        if not isinstance(name, str) or not name.strip():
            continue
        ident = workspace.get("id")
        return WorkspaceInfo(
            id=ident if isinstance(ident, str) else None,
            name=" ".join(name.split())[:MAX_NAME],
            icon=_icon(workspace.get("icon")),
        )
    return None


async def ask(connection: Any, tool_names: list[str]) -> WorkspaceInfo | None:
    """Ask a freshly connected server which workspace it serves, if it is one that can say."""
    if FETCH_TOOL not in tool_names:
        return None
    try:
        result = await connection.call_tool(FETCH_TOOL, {"id": "self"}, ASK_TIMEOUT_S)
        wire = mcp_wire(result)
    except Exception as exc:
        log.info("could not learn the workspace: %s", type(exc).__name__)
        return None
    return parse_self(wire)
