"""The chat agent, wired into this host: its tools are the connected servers', its model is the configured one.

host.agent knows nothing of the host; this is where it is given the callables it asks for. It is made on first
use: the model client library is slow to import, and many hosts never chat.

Requests to OpenRouter (and only there) name the bridge with ``HTTP-Referer`` and ``X-Title``, as OpenRouter
asks of the apps that use it. The endpoint's model list (host.agent.models) gives each model's context, prices
and abilities.
"""

from __future__ import annotations

import asyncio
import itertools
import os
from typing import TYPE_CHECKING, Any

from host import EXTENSION_ID, paths
from host.config import Config, ConfigStore
from host.errors import BridgeError, ErrorCode
from host.oauth.manager import AuthManager
from host.origins import origin
from host.protocol.events import Send
from host.servers import ServerSet

if TYPE_CHECKING:
    from host.agent.agent import ChatAgent, Endpoint, ToolSource
    from host.agent.models import ModelInfo
    from host.agent.tokens import TokenCounter

_call_ids = itertools.count(1)

#: Who is calling, for OpenRouter's app attribution.
APP_TITLE = "Notion MCP Bridge"
APP_URL = f"chrome-extension://{EXTENSION_ID}/"
OPENROUTER_ORIGIN = "https://openrouter.ai"


def attribution_headers(base_url: str) -> dict[str, str]:
    """``HTTP-Referer`` and ``X-Title`` for OpenRouter; nothing for any other endpoint."""
    try:
        if origin(base_url) != OPENROUTER_ORIGIN:
            return {}
    except ValueError:
        return {}
    return {"HTTP-Referer": APP_URL, "X-Title": APP_TITLE}


class ChatService:
    def __init__(self, config: ConfigStore, servers: ServerSet, auth: AuthManager, send: Send) -> None:
        self._config = config
        self._servers = servers
        self._auth = auth
        self._send = send
        self._agent: ChatAgent | None = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._catalogue: Any = None
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
                llm=self._endpoint,
                remember_always=self._remember_always,
                server_lines=self._server_lines,
            )
            # The token encodings load in a thread meanwhile; counts are estimates until they are in.
            self._agent.encodings.start("o200k_base")
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

    def _server_lines(self) -> list[str]:
        """One line per server for the system prompt: the connected ones, and those waiting for the person."""
        lines = []
        for supervisor in self._servers.all():
            config = supervisor.config
            if supervisor.state == "connected":
                tools = supervisor.tools_wire()
                lines.append(f"{supervisor.display_name()} (tools named {config.id}__…): {len(tools)} tools")
            elif supervisor.state == "needs_auth":
                lines.append(f"{supervisor.display_name()}: not connected, the person must sign in first")
        return lines

    # --- the model, for servers' sampling requests (host.sampling) ---------------------------------------

    async def model(self) -> Endpoint:
        """The chat's model as a turn gets it: the configured endpoint, the key entered for its origin only,
        OpenRouter's attribution headers, and what the endpoint's model list says of the model."""
        return await self._endpoint()

    def context_length(self, endpoint: Endpoint) -> int:
        """The model's context as the chat reckons it (the person's setting, the model list, what the endpoint
        said when it refused a request)."""
        return self.agent.context_length(endpoint)

    def counter(self, endpoint: Endpoint) -> TokenCounter:
        """The chat's token counter for the model, with the margin its counts were found to need."""
        return self.agent.counter(endpoint.model)

    async def _client(self, base_url: str) -> Any:
        from openai import AsyncOpenAI

        # Only the key entered for this endpoint's origin, and only over HTTPS or to this machine.
        key = await self._auth.model_key.for_endpoint(base_url)
        if not key and "openrouter.ai" in base_url:
            raise BridgeError(
                ErrorCode.NO_MODEL, "no API key for the chat model: add one in the options page"
            )
        # One client per endpoint and key, kept: a new one per turn costs a TLS context and a fresh connection.
        cache_key = (base_url, key or "")
        if cache_key not in self._clients:
            self._clients.clear()
            self._clients[cache_key] = AsyncOpenAI(
                base_url=base_url,
                api_key=key or "not-needed",
                # Tests shorten it; a person's model gets a minute to start answering.
                timeout=float(os.environ.get("NOTION_BRIDGE_LLM_TIMEOUT_S", "60")),
                max_retries=0,
                default_headers=attribution_headers(base_url),
            )
        return self._clients[cache_key]

    async def models(
        self, base_url: str | None = None, *, fresh: bool = False
    ) -> tuple[list[ModelInfo] | None, str]:
        """The endpoint's models (the configured endpoint's unless another is named), or None and why not."""
        from host.agent.models import ModelCatalogue

        if self._catalogue is None:
            self._catalogue = ModelCatalogue()
        url = base_url or self._config.current.llm.base_url
        key = await self._auth.model_key.for_endpoint(url)

        async def fetch() -> Any:
            from openai import AsyncOpenAI

            kept = self._clients.get((url, key or ""))
            if kept is not None:
                return await kept.get("/models", cast_to=object)
            # A client of its own: the options page asks before any key is saved (OpenRouter's list is public).
            async with AsyncOpenAI(
                base_url=url,
                api_key=key or "not-needed",
                timeout=10.0,
                max_retries=0,
                default_headers=attribution_headers(url),
            ) as client:
                return await client.get("/models", cast_to=object)

        models: list[ModelInfo] | None
        models, problem = await self._catalogue.models(url, fetch, fresh=fresh)
        return models, problem

    async def _endpoint(self) -> Endpoint:
        from host.agent.agent import Endpoint

        settings = self._config.current.llm
        client = await self._client(settings.base_url)
        models, _ = await self.models(settings.base_url)
        info = next((m for m in models or [] if m.id == settings.model), None)
        return Endpoint(
            client=client,
            model=settings.model,
            base_url=settings.base_url,
            info=info,
            context_length=settings.context_lengths.get(settings.model),
            system_prompt=settings.system_prompt,
            summarize=settings.summarize,
        )

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
