"""The chat agent, wired into this host: its tools are the connected servers', its model is the configured one.

host.agent knows nothing of the host; this is where it is given the callables it asks for. It is made on first
use: the model client library is slow to import, and many hosts never chat.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import TYPE_CHECKING, Any

from host import paths
from host.config import Config, ConfigStore
from host.errors import BridgeError, ErrorCode
from host.oauth.manager import AuthManager
from host.protocol.events import Send
from host.servers import ServerSet

if TYPE_CHECKING:
    from host.agent.agent import ChatAgent, ToolSource

_call_ids = itertools.count(1)


class ChatService:
    def __init__(self, config: ConfigStore, servers: ServerSet, auth: AuthManager, send: Send) -> None:
        self._config = config
        self._servers = servers
        self._auth = auth
        self._send = send
        self._agent: ChatAgent | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self.turns: dict[str, asyncio.Task[str]] = {}
        """The turn running in each conversation: one at a time, and chat.cancel finds it here."""

    @property
    def agent(self) -> ChatAgent:
        if self._agent is None:
            from host.agent.agent import ChatAgent
            from host.agent.history import History

            self._agent = ChatAgent(
                history=History(paths.data_dir() / "chat.db"),
                send=self._send,
                sources=self._sources,
                llm=self._llm,
                remember_always=self._remember_always,
            )
        return self._agent

    def _sources(self) -> list[ToolSource]:
        from host.agent.agent import ToolSource

        found = []
        for supervisor in self._servers.all():
            if supervisor.state != "connected":
                continue
            config = supervisor.config

            async def call(
                server_id: str,
                tool: str,
                arguments: dict[str, Any],
                *,
                card: tuple[str, str] | None = None,
            ) -> Any:
                # ``card``: (conversation, the model's call id), which the call's tool.progress events name.
                conversation_id, card_id = card or (None, None)
                return await self._servers.get(server_id).call_tool(
                    f"chat-{next(_call_ids)}",
                    tool,
                    arguments,
                    None,
                    progress_id=card_id,
                    conversation_id=conversation_id,
                )

            found.append(
                ToolSource(
                    server_id=config.id,
                    name=supervisor.display_name(),
                    tools=supervisor.tools_wire(),
                    call=call,
                    always_allowed=set(config.always_allow),
                    # The built-in SQLite server enforces read-only itself; other servers' hints count only
                    # when the person marked the server trusted.
                    trust_hints=config.trusted or config.builtin == "sqlite",
                    uid=config.uid,
                )
            )
        return found

    async def model(self) -> tuple[Any, str]:
        """The model client and name the chat uses; servers' sampling requests (host.sampling) go there too."""
        return await self._llm()

    async def _llm(self) -> tuple[Any, str]:
        from openai import AsyncOpenAI

        settings = self._config.current.llm
        # Only the key entered for this endpoint's origin, and only over HTTPS or to this machine.
        key = await self._auth.model_key.for_endpoint(settings.base_url)
        if not key and "openrouter.ai" in settings.base_url:
            raise BridgeError(
                ErrorCode.NO_MODEL, "no API key for the chat model: add one in the options page"
            )
        # One client per endpoint and key, kept: a new one per turn costs a TLS context and a fresh connection.
        cache_key = (settings.base_url, key or "")
        if cache_key not in self._clients:
            self._clients.clear()
            self._clients[cache_key] = AsyncOpenAI(
                base_url=settings.base_url,
                api_key=key or "not-needed",
                # Tests shorten it; a person's model gets a minute to start answering.
                timeout=float(os.environ.get("NOTION_BRIDGE_LLM_TIMEOUT_S", "60")),
                max_retries=0,
            )
        return self._clients[cache_key], settings.model

    def _remember_always(self, server_uid: str, tool: str) -> None:
        # By identity, not id: if the server was pointed elsewhere while the question was open, the answer
        # was about the old one and is not carried over.
        def change(config: Config) -> None:
            server = next((s for s in config.servers if s.uid == server_uid), None)
            if server is not None and tool not in server.always_allow:
                server.always_allow.append(tool)

        stored = self._config.update(change)
        server = next((s for s in stored.servers if s.uid == server_uid), None)
        if server is not None:
            self._servers.adopt(server)
