"""The Notion-compatible server itself: Notion's tool shapes, its OAuth behaviour, and the test knobs."""

from __future__ import annotations

import asyncio

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


def test_a_refresh_token_works_once_and_of_two_concurrent_refreshes_one_wins(secured):
    client, token = _tokens(secured)

    def refresh(refresh_token: str) -> httpx.Response:
        return httpx.post(
            f"{secured.url}/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": client["client_id"],
            },
        )

    first = refresh(token["refresh_token"])
    assert first.status_code == 200
    assert refresh(token["refresh_token"]).json()["error"] == "invalid_grant"

    async def both():
        async with httpx.AsyncClient() as http:
            data = {
                "grant_type": "refresh_token",
                "refresh_token": first.json()["refresh_token"],
                "client_id": client["client_id"],
            }
            return await asyncio.gather(*(http.post(f"{secured.url}/token", data=data) for _ in range(2)))

    statuses = sorted(r.status_code for r in asyncio.run(both()))
    assert statuses == [200, 400]


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
