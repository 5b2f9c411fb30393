"""The Notion-compatible server itself: Notion's tool shapes, its OAuth behaviour, and the test knobs."""

from __future__ import annotations

import asyncio
import threading
import time

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from dev_notion.testing import DevNotionProcess

EXPECTED_TOOLS = {
    "notion-search", "notion-fetch", "notion-create-pages", "notion-update-page", "notion-create-comment",
    "notion-get-comments", "notion-get-users", "notion-query-data-sources",
}  # fmt: skip


@pytest.fixture(scope="module")
def open_server():
    with DevNotionProcess(auth=False) as server:
        yield server


@pytest.fixture
def secured():
    with DevNotionProcess(auth=True, auto_approve=True) as server:
        yield server


def with_client(target, body):
    async def go():
        async with Client(target) as client:
            return await body(client)

    return anyio.run(go)


@pytest.mark.parametrize("transport", ["mcp", "sse"])
def test_tools_are_named_like_notions_over_both_transports(open_server, transport):
    target = open_server.mcp_url if transport == "mcp" else sse_client(open_server.sse_url)

    async def names(client):
        return {t.name for t in (await client.list_tools()).tools}

    assert with_client(target, names) == EXPECTED_TOOLS


def test_search_query_create_and_fetch(open_server):
    async def body(client):
        found = await client.call_tool("notion-search", {"query": "Reading List"})
        database = next(r for r in found.structured_content["results"] if r["object"] == "database")
        queried = await client.call_tool(
            "notion-query-data-sources",
            {
                "data_source_id": database["data_source_id"],
                "filter": {"and": [{"property": "Rating", "number": {"greater_than_or_equal_to": 4}}]},
                "sorts": [{"property": "Name", "direction": "ascending"}],
            },
        )
        created = await client.call_tool(
            "notion-create-pages",
            {
                "parent": {"database_id": database["id"]},
                "pages": [
                    {
                        "properties": {"Name": "Test-Driven Development", "Rating": 5},
                        "content": "# Notes\nGood.",
                    }
                ],
            },
        )
        fetched = await client.call_tool(
            "notion-fetch", {"id": created.structured_content["pages"][0]["url"]}
        )
        bad = await client.call_tool(
            "notion-create-pages",
            {"parent": {"database_id": database["id"]}, "pages": [{"properties": {"Colour": "red"}}]},
        )
        return queried, fetched, bad

    queried, fetched, bad = with_client(open_server.mcp_url, body)
    rows = queried.structured_content["rows"]
    assert rows and all(r["properties"]["Rating"] >= 4 for r in rows)
    assert [r["properties"]["Name"] for r in rows] == sorted(r["properties"]["Name"] for r in rows)
    assert "# Test-Driven Development" in fetched.content[0].text and "Good." in fetched.content[0].text
    assert bad.is_error and "no property 'Colour'" in bad.content[0].text


def test_rate_limit_knob_gives_notions_error_shape(open_server):
    open_server.admin("rate-limit", calls=1, retry_after_seconds=2)

    async def body(client):
        return await client.call_tool("notion-get-users", {}), await client.call_tool("notion-get-users", {})

    limited, fine = with_client(open_server.mcp_url, body)
    assert limited.is_error and limited.structured_content["error"] == {
        "code": "rate_limited",
        "message": "Rate limited. Retry after 2 seconds.",
        "retry_after_seconds": 2.0,
    }
    assert not fine.is_error


def test_unauthenticated_requests_get_401_pointing_at_resource_metadata(secured):
    response = httpx.post(secured.mcp_url, json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert response.status_code == 401
    assert (
        f'resource_metadata="{secured.url}/.well-known/oauth-protected-resource/mcp"'
        in response.headers["www-authenticate"]
    )
    metadata = httpx.get(f"{secured.url}/.well-known/oauth-authorization-server").json()
    assert metadata["code_challenge_methods_supported"] == ["S256"] and metadata["revocation_endpoint"]


def _tokens(server: DevNotionProcess) -> tuple[dict, dict]:
    """Register, authorize (auto-approved) with PKCE, exchange; returns (client, token response)."""
    import base64
    import hashlib
    import secrets
    from urllib.parse import parse_qs, urlsplit

    client = httpx.post(
        f"{server.url}/register",
        json={"redirect_uris": ["http://127.0.0.1/cb"], "token_endpoint_auth_method": "none",
              "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]},
    ).json()  # fmt: skip
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    authorized = httpx.get(
        f"{server.url}/authorize",
        params={"response_type": "code", "client_id": client["client_id"], "redirect_uri": "http://127.0.0.1/cb",
                "code_challenge": challenge, "code_challenge_method": "S256", "state": "s1"},
    )  # fmt: skip
    code = parse_qs(urlsplit(authorized.headers["location"]).query)["code"][0]
    token = httpx.post(
        f"{server.url}/token",
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1/cb",
              "client_id": client["client_id"], "code_verifier": verifier},
    ).json()  # fmt: skip
    return client, token


def test_token_response_names_the_workspace(secured):
    _, token = _tokens(secured)
    assert token["workspace_name"] == "Acme Corp" and token["expires_in"] == 3600 and token["refresh_token"]


def _refresher(server: DevNotionProcess, client: dict):
    def refresh(refresh_token: str) -> httpx.Response:
        return httpx.post(
            f"{server.url}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client["client_id"],
            },
        )

    return refresh


def test_refresh_tokens_rotate_like_notions_the_last_used_one_stays_valid(secured):
    """Notion (workers-oauth-provider): the newest and the last-used refresh token work; using one retires
    the other. A client that lost an answer can retry with the token it has; anything older is refused."""
    client, token = _tokens(secured)
    refresh = _refresher(secured, client)
    first = refresh(token["refresh_token"])
    assert first.status_code == 200
    # The answer was "lost": the same token works again, and the unseen successor is retired.
    again = refresh(token["refresh_token"])
    assert again.status_code == 200
    assert refresh(first.json()["refresh_token"]).json()["error"] == "invalid_grant"
    # Moving on to the newest token retires the one before it.
    newest = refresh(again.json()["refresh_token"])
    assert newest.status_code == 200
    assert refresh(token["refresh_token"]).json()["error"] == "invalid_grant"
    stats = secured.admin("stats")["oauth"]
    assert stats["refreshes"] == 3 and stats["previous_token_refreshes"] == 1
    assert stats["stale_refreshes"] == 2 and stats["invalid_grant"] == 2 and stats["refresh_rejections"] == 2


def test_two_uncoordinated_refreshes_leave_one_of_them_holding_a_dead_token(secured):
    client, token = _tokens(secured)
    refresh = _refresher(secured, client)

    async def both():
        async with httpx.AsyncClient() as http:
            data = {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                    "client_id": client["client_id"]}  # fmt: skip
            return await asyncio.gather(*(http.post(f"{secured.url}/token", data=data) for _ in range(2)))

    answers = asyncio.run(both())
    assert [a.status_code for a in answers] == [200, 200]
    later = sorted(refresh(a.json()["refresh_token"]).status_code for a in answers)
    assert later == [200, 400], "only the newest successor survives; the other client would get invalid_grant"


def test_strict_rotation_makes_every_refresh_token_single_use(secured):
    client, token = _tokens(secured)
    refresh = _refresher(secured, client)
    secured.admin("refresh-rotation", mode="strict")
    assert refresh(token["refresh_token"]).status_code == 200
    assert refresh(token["refresh_token"]).json()["error"] == "invalid_grant"


def test_token_delay_holds_refresh_answers_before_or_after_rotating(secured):
    client, token = _tokens(secured)
    refresh = _refresher(secured, client)

    def held(when: str) -> int:
        return secured.admin("stats")["token_endpoint"][
            "waiting_before" if when == "before" else "holding_after"
        ]

    def wait_held(when: str, count: int) -> None:
        deadline = time.monotonic() + 10
        while held(when) != count:
            assert time.monotonic() < deadline, f"held {when}: {held(when)}, expected {count}"
            time.sleep(0.02)

    # Before: a client that gives up while held leaves nothing rotated.
    secured.admin("token-delay", ms=30_000, when="before")
    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{secured.url}/token", timeout=0.5,
                   data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                         "client_id": client["client_id"]})  # fmt: skip
    wait_held("before", 0)
    assert secured.admin("stats")["oauth"]["refreshes"] == 0

    # After: the server rotates, then holds the answer until released.
    secured.admin("token-delay", ms=30_000, when="after")
    box: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: box.append(refresh(token["refresh_token"])))
    thread.start()
    wait_held("after", 1)
    assert secured.admin("stats")["oauth"]["refreshes"] == 1 and not box
    secured.admin("token-delay", ms=0)
    thread.join(10)
    assert box and box[0].status_code == 200 and held("after") == 0


def test_revocation_and_revoke_all_stop_tokens(secured):
    _client, token = _tokens(secured)
    headers = {
        "Authorization": f"Bearer {token['access_token']}",
        "Accept": "application/json, text/event-stream",
    }
    ping = {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}
    assert httpx.post(secured.mcp_url, json=ping, headers=headers).status_code != 401
    secured.admin("revoke-all")
    assert httpx.post(secured.mcp_url, json=ping, headers=headers).status_code == 401


def test_a_revoked_grant_refuses_its_tokens_without_calling_them_stale(secured):
    client, token = _tokens(secured)
    refresh = _refresher(secured, client)
    newer = refresh(token["refresh_token"]).json()
    revoked = httpx.post(
        f"{secured.url}/revoke",
        data={
            "token": newer["refresh_token"],
            "token_type_hint": "refresh_token",
            "client_id": client["client_id"],
        },
    )
    assert revoked.status_code == 200
    assert refresh(token["refresh_token"]).json()["error"] == "invalid_grant", "the whole grant ends"
    assert refresh(newer["refresh_token"]).json()["error"] == "invalid_grant"
    stats = secured.admin("stats")["oauth"]
    assert stats["refresh_rejections"] == 2 and stats["stale_refreshes"] == 0
