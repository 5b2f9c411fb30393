"""hello, auth.result, server.connect, server.disconnect: signing in and out of servers."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host import PROTOCOL_VERSION, __version__
from host import config as config_store
from host.actions.errors import ActionError
from host.config import Config
from host.oauth.browser_step import BROWSER_STEP_TIMEOUT_S
from host.protocol import AuthResult, ErrorCode, HelloRequest, ServerConnect, ServerDisconnect

if TYPE_CHECKING:
    from host.app import Host


async def hello(host: Host, request: HelloRequest) -> dict[str, Any]:
    host.set_profile(request.profile_id)
    return {
        "protocol": PROTOCOL_VERSION,
        "host_version": __version__,
        "token_storage": host.auth.store.backend.name,
    }


async def auth_result(host: Host, request: AuthResult) -> dict[str, Any]:
    if not host.auth.browser.answer(request.auth_id, request.redirect_url, request.error):
        raise ActionError(ErrorCode.UNKNOWN_AUTH, f"no sign-in with id {request.auth_id!r} is waiting")
    return {"accepted": True}


def _set_enabled(server_id: str, enabled: bool) -> Any:
    def change(cfg: Config) -> None:
        server = cfg.server(server_id)
        if server is not None:
            server.enabled = enabled

    return change


async def server_connect(host: Host, request: ServerConnect) -> dict[str, Any]:
    supervisor = host.supervisor(request.server)
    if not supervisor.config.enabled:
        host.config = config_store.update(_set_enabled(request.server, True))
        stored = host.config.server(request.server)
        assert stored is not None
        supervisor.config = stored
    entry = await supervisor.connect_interactive(BROWSER_STEP_TIMEOUT_S + 60)
    if entry["state"] == "needs_auth":
        raise ActionError(ErrorCode.NEEDS_AUTH, entry["error"] or "the server needs you to sign in")
    return entry


async def server_disconnect(host: Host, request: ServerDisconnect) -> dict[str, Any]:
    supervisor = host.supervisor(request.server)
    host.config = config_store.update(_set_enabled(request.server, False))
    stored = host.config.server(request.server)
    assert stored is not None
    supervisor.config = stored
    await supervisor.stop("disabled")
    revoked = False
    if supervisor.config.kind == "remote":
        revoked = await host.auth.revoke_and_forget(supervisor.config)
    host.status_changed()
    return {**supervisor.snapshot(), "revoked": revoked}
