"""One module per group of verbs; each handler takes the host and a validated request and returns the result.

A handler raises ``ActionError`` for a failure the person should read; anything else is a bug and is
reported as ``internal`` with the exception's words.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from host.actions import auth, chat, servers, status, tools

if TYPE_CHECKING:
    from host.app import Host

Handler = Callable[["Host", Any], Awaitable[Any]]

HANDLERS: dict[str, Handler] = {
    "ping": status.ping,
    "hello": auth.hello,
    "auth.result": auth.auth_result,
    "server.connect": auth.server_connect,
    "server.disconnect": auth.server_disconnect,
    "status.get": status.status_get,
    "config.get": status.config_get,
    "llm.configure": status.llm_configure,
    "server.add": servers.server_add,
    "server.update": servers.server_update,
    "server.remove": servers.server_remove,
    "server.enable": servers.server_enable,
    "tools.list": tools.tools_list,
    "tool.call": tools.tool_call,
    "tool.cancel": tools.tool_cancel,
    "elicitation.respond": tools.elicitation_respond,
    "chat.new": chat.chat_new,
    "chat.send": chat.chat_send,
    "chat.cancel": chat.chat_cancel,
    "chat.approve": chat.chat_approve,
    "chat.list": chat.chat_list,
    "chat.history": chat.chat_history,
    "chat.delete": chat.chat_delete,
}
