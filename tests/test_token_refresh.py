"""The refresher and the auth flow in one process, against a stand-in for the token endpoint.

Each test is a situation several hosts sharing one store, or a slow sign-in server, actually produce; the
end-to-end versions under load are in test_token_safety.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest

from host.oauth import refresher as refresher_module
from host.oauth.refresher import (
    NeedsAuthorization,
    RefreshDeferred,
    TokenRefresher,
    credentials_from_token_response,
)
from host.token_store import Credentials, EncryptedFileBackend, TokenStore

PROFILE, SERVER = "profile-a", "notion"


def stored(n: int, *, age: float = 0.0, lifetime: float = 100.0, previous: int | None = None) -> Credentials:
    issued = time.time() - age
    return Credentials(
        access_token=f"at-{n}",
        refresh_token=f"rt-{n}",
        previous_refresh_token=f"rt-{previous}" if previous is not None else None,
        issued_at=issued,
        expires_at=issued + lifetime,
        token_endpoint="http://127.0.0.1:1/token",
        client_info={"client_id": "c1"},
    )


class FakeTokenEndpoint:
    """Answers refreshes like Notion: the newest and the previous refresh token work, others are refused."""

    def __init__(self, valid: set[str], next_n: int = 100) -> None:
        self.valid = valid
        self.next_n = next_n
        self.used: list[str] = []
        self.gate: asyncio.Event | None = None
        self.fail_with: Exception | None = None

    async def __call__(self, _current: Credentials, refresh_token: str) -> dict[str, Any]:
        self.used.append(refresh_token)
        if self.gate is not None:
            await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        if refresh_token not in self.valid:
            raise refresher_module._InvalidGrant
        n, self.next_n = self.next_n, self.next_n + 1
        self.valid = {refresh_token, f"rt-{n}"}
        return {"access_token": f"at-{n}", "refresh_token": f"rt-{n}", "expires_in": 100}


@pytest.fixture
def store(host_home: Path) -> TokenStore:
    return TokenStore(EncryptedFileBackend(host_home / "data"))


def make_refresher(store: TokenStore, endpoint: FakeTokenEndpoint) -> TokenRefresher:
    refresher = TokenRefresher(store, PROFILE, SERVER)
    refresher._exchange = endpoint  # type: ignore[method-assign]
    return refresher


def run(coro: Any) -> Any:
    return asyncio.run(asyncio.wait_for(coro, 10))  # a hang bound, not a timing assumption


def test_a_refresh_remembers_the_refresh_token_it_was_made_with():
    previous = stored(1)
    fresh = credentials_from_token_response(
        {"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 60}, previous, refreshed_with="rt-1"
    )
    assert fresh.refresh_token == "rt-2" and fresh.previous_refresh_token == "rt-1"
    signed_in = credentials_from_token_response({"access_token": "at-3", "refresh_token": "rt-3"}, fresh)
    assert signed_in.previous_refresh_token is None, "a new sign-in starts a new grant"
    not_rotated = credentials_from_token_response({"access_token": "at-4"}, fresh, refreshed_with="rt-2")
    assert not_rotated.refresh_token == "rt-2" and not_rotated.previous_refresh_token is None


def test_a_forced_refresh_adopts_another_hosts_token_only_while_it_is_fresh(store):
    """Host A's call was refused with at-1; host B stored at-2 long ago and then died. Handing at-2 back as
    "someone else refreshed" would retry with a token as dead as the first one."""
    store.save(PROFILE, SERVER, stored(2, age=90))
    endpoint = FakeTokenEndpoint({"rt-2"})
    refresher = make_refresher(store, endpoint)
    result = run(refresher.refresh(force=True, rejected_token="at-1"))
    assert endpoint.used == ["rt-2"] and result.access_token == "at-100"

    store.save(PROFILE, SERVER, stored(3))
    endpoint.used.clear()
    result = run(refresher.refresh(force=True, rejected_token="at-1"))
    assert endpoint.used == [] and result.access_token == "at-3", "a fresh token from another host is used"


def test_a_retired_newest_refresh_token_falls_back_to_the_previous_one(store):
    """A late duplicate of an old refresh request retired our newest token; the one before it still works."""
    store.save(PROFILE, SERVER, stored(2, age=90, previous=1))
    endpoint = FakeTokenEndpoint({"rt-1", "rt-9"})
    refresher = make_refresher(store, endpoint)
    result = run(refresher.refresh(force=False))
    assert endpoint.used == ["rt-2", "rt-1"]
    assert result.refresh_token == "rt-100" and result.previous_refresh_token == "rt-1"
    assert store.load(PROFILE, SERVER) == result


def test_both_refresh_tokens_refused_means_signing_in_again(store):
    store.save(PROFILE, SERVER, stored(2, age=90, previous=1))
    refresher = make_refresher(store, FakeTokenEndpoint(set()))
    with pytest.raises(NeedsAuthorization, match="connect again"):
        run(refresher.refresh(force=False))
    assert store.load(PROFILE, SERVER) is None


def test_an_unreachable_sign_in_server_fails_no_call_while_the_token_is_valid(store):
    store.save(PROFILE, SERVER, stored(1, age=60))  # due (60 % of its life) but valid
    endpoint = FakeTokenEndpoint({"rt-1"})
    endpoint.fail_with = RefreshDeferred("could not reach the sign-in server")
    refresher = make_refresher(store, endpoint)
    assert run(refresher.fresh()).access_token == "at-1"

    store.save(PROFILE, SERVER, stored(2, age=120))  # expired: nothing usable is left
    run(refresher.load())
    with pytest.raises(RefreshDeferred):
        run(refresher.fresh())


def test_calls_do_not_queue_behind_a_refresh_already_under_way(store):
    store.save(PROFILE, SERVER, stored(1, age=60))
    endpoint = FakeTokenEndpoint({"rt-1"})
    endpoint.gate = asyncio.Event()
    refresher = make_refresher(store, endpoint)

    async def scenario() -> tuple[str | None, str | None]:
        await refresher.load()
        refreshing = asyncio.create_task(refresher.refresh(force=False))
        while not endpoint.used:
            await asyncio.sleep(0.01)
        during = await refresher.fresh()  # must not wait for the gate
        endpoint.gate.set()
        after = await refreshing
        return during.access_token if during else None, after.access_token if after else None

    assert run(scenario()) == ("at-1", "at-100")


def test_a_token_refused_twice_is_refreshed_before_the_sign_in_is_given_up(store, host_home):
    """Host A presents at-1 and is refused; host B had stored at-2, which A adopts; the server's clock ended
    at-2 a moment early and refuses it too. A must refresh itself rather than wipe the store."""
    from host.oauth.auth import BridgeAuth

    store.save(PROFILE, SERVER, stored(2, age=10, previous=1))
    endpoint = FakeTokenEndpoint({"rt-1", "rt-2"})
    refresher = make_refresher(store, endpoint)
    refresher._cached, refresher._loaded = stored(1, age=10), True
    auth = BridgeAuth(
        server_url="http://127.0.0.1:1/mcp",
        redirect_uri="https://example.chromiumapp.org/oauth/notion",
        refresher=refresher,
        browser_step=None,
    )

    async def scenario() -> list[str]:
        request = httpx2.Request("POST", "http://127.0.0.1:1/mcp", content=b"{}")
        flow = auth.async_auth_flow(request)
        outgoing = await flow.__anext__()
        presented = [outgoing.headers.get("authorization", "")]
        for status in (401, 401, 200):
            try:
                outgoing = await flow.asend(httpx2.Response(status, request=outgoing))
            except StopAsyncIteration:
                break
            presented.append(outgoing.headers.get("authorization", ""))
        return presented

    assert run(scenario()) == ["Bearer at-1", "Bearer at-2", "Bearer at-100"]
    kept = store.load(PROFILE, SERVER)
    assert kept is not None and kept.access_token == "at-100" and kept.refresh_token == "rt-100"
