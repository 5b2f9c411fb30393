"""hello, auth.result, server.connect, server.disconnect: which browser profile this is, and signing in and out."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field
from typing_extensions import TypedDict

from host import PROTOCOL_VERSION, __version__
from host.config import Config
from host.errors import BridgeError, ErrorCode
from host.oauth.browser_step import BROWSER_STEP_TIMEOUT_S
from host.protocol.events import ServerStatus
from host.protocol.verbs import Request, handles

if TYPE_CHECKING:
    from host.services import Services


class HelloRequest(Request):
    """The extension's first request: which browser profile this is, so tokens are kept per profile."""

    type: Literal["hello"]
    profile_id: str = Field(pattern=r"^[A-Za-z0-9_-]{8,64}$")
    """A random id the extension keeps in ``chrome.storage.local``."""


class HelloResult(TypedDict):
    protocol: int
    host_version: str
    token_storage: str
    """Where tokens are kept: the keychain's backend, or ``encrypted-file``."""


@handles(HelloRequest)
async def hello(services: Services, request: HelloRequest) -> HelloResult:
    services.servers.set_profile(request.profile_id)
    return {
        "protocol": PROTOCOL_VERSION,
        "host_version": __version__,
        "token_storage": services.auth.store.backend.name,
    }


class AuthResult(Request):
    """The extension's answer to ``auth.open``: where the sign-in window ended up, or why it did not."""

    type: Literal["auth.result"]
    auth_id: str
    redirect_url: str | None = None
    """The URL the window ended on (it carries the code, or the server's refusal)."""
    error: str | None = None
    """Chrome's words when the window was closed or failed."""


class Accepted(TypedDict):
    accepted: bool


@handles(AuthResult)
async def auth_result(services: Services, request: AuthResult) -> Accepted:
    if not services.auth.browser.answer(request.auth_id, request.redirect_url, request.error):
        raise BridgeError(ErrorCode.UNKNOWN_AUTH, f"no sign-in with id {request.auth_id!r} is waiting")
    return {"accepted": True}


def _set_enabled(services: Services, server_id: str, enabled: bool) -> None:
    def change(config: Config) -> None:
        server = config.server(server_id)
        if server is not None:
            server.enabled = enabled

    stored = services.config.update(change).server(server_id)
    assert stored is not None
    services.servers.get(server_id).config = stored


class ServerConnect(Request):
    """Enable the server and connect now. If it wants a sign-in the host sends ``auth.open`` and the reply waits
    for the person (up to 5 minutes); it fails with ``needs_auth`` and the reason in words."""

    type: Literal["server.connect"]
    server: str


@handles(ServerConnect)
async def server_connect(services: Services, request: ServerConnect) -> ServerStatus:
    supervisor = services.servers.get(request.server)
    if not supervisor.config.enabled:
        _set_enabled(services, request.server, True)
    entry = await supervisor.connect_interactive(BROWSER_STEP_TIMEOUT_S + 60)
    if entry["state"] == "needs_auth":
        raise BridgeError(ErrorCode.NEEDS_AUTH, entry["error"] or "the server needs you to sign in")
    return entry


class ServerDisconnect(Request):
    """Disable the server, revoke its tokens where the server offers revocation, and forget tokens and
    registration."""

    type: Literal["server.disconnect"]
    server: str


class Disconnected(ServerStatus):
    revoked: bool
    """Whether the server confirmed the revocation (the tokens are forgotten either way)."""


@handles(ServerDisconnect)
async def server_disconnect(services: Services, request: ServerDisconnect) -> Disconnected:
    supervisor = services.servers.get(request.server)
    _set_enabled(services, request.server, False)
    await supervisor.stop("disabled")
    revoked = await services.auth.revoke_and_forget(supervisor.config)
    services.status.changed()
    return {**supervisor.snapshot(), "revoked": revoked}
