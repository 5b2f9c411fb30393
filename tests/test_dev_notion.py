"""The Notion-compatible server itself: Notion's tool shapes, its OAuth behaviour, and the test knobs."""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from dev_notion.testing import DevNotionProcess

SNAPSHOT = json.loads(
    (Path(__file__).parent / "fixtures" / "notion_hosted_tools.json").read_text(encoding="utf-8")
)
EXPECTED_TOOLS = {t["name"] for t in SNAPSHOT["tools"]}


@pytest.fixture(scope="module")
def open_server():
    with DevNotionProcess(auth=False) as server:
        yield server


@pytest.fixture
def fresh():
    """A server of its own, for tests that change the workspace or its plan."""
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


class Answer:
    def __init__(self, result) -> None:
        self.error = bool(result.is_error)
        self.text = result.content[0].text
        try:
            self.json = json.loads(self.text)
        except ValueError:
            self.json = None


def calls(server, *steps):
    """Run (tool, arguments) steps in one session; a step may be a function of the answers so far."""

    async def body(client):
        answers = []
        for step in steps:
            name, arguments = step(answers) if callable(step) else step
            answers.append(Answer(await client.call_tool(name, arguments)))
        return answers

    return with_client(server.mcp_url, body)


def one(server, name, arguments):
    return calls(server, (name, arguments))[0]


def database(server, title):
    found = one(server, "notion-search", {"query": title}).json["results"]
    hit = next(r for r in found if r["type"] == "database" and r["title"] == title)
    return one(server, "notion-fetch", {"id": hit["url"]})


def sources_of(fetched: Answer) -> list[dict]:
    found = re.findall(r"<data-source-state>\n(.*?)\n</data-source-state>", fetched.json["text"], re.S)
    return [json.loads(state) for state in found]


@pytest.mark.parametrize("transport", ["mcp", "sse"])
def test_tools_are_the_hosted_ones_over_both_transports(open_server, transport):
    target = open_server.mcp_url if transport == "mcp" else sse_client(open_server.sse_url)

    async def names(client):
        return {t.name for t in (await client.list_tools()).tools}

    assert with_client(target, names) == EXPECTED_TOOLS


def test_search_by_keyword_within_a_data_source_a_page_a_teamspace_and_for_people(open_server):
    hits = one(open_server, "notion-search", {"query": "handbook"}).json["results"]
    assert hits[0]["title"] == "Engineering Handbook" and hits[0]["type"] == "page"
    assert set(hits[0]) >= {"id", "title", "url", "type", "timestamp", "highlight"}
    assert hits[0]["url"].startswith("https://app.notion.com/p/")
    (tasks,) = sources_of(database(open_server, "Tasks"))
    within = one(open_server, "notion-search", {"query": "T-1", "data_source_url": tasks["url"]}).json[
        "results"
    ]
    assert within and all("(T-1" in r["title"] for r in within)
    handbook = hits[0]["url"]
    below = one(open_server, "notion-search", {"query": "pager", "page_url": handbook}).json["results"]
    assert [r["title"] for r in below] == ["On-call Runbook"]
    teams = one(open_server, "notion-get-teams", {}).json
    engineering = next(t["id"] for t in teams["joinedTeams"] if t["name"] == "Engineering")
    in_team = one(open_server, "notion-search", {"query": "runbook", "teamspace_id": engineering}).json[
        "results"
    ]
    assert {r["title"] for r in in_team} == {"On-call Runbook", "Engineering Handbook"}, (
        "not Home: another team's"
    )
    people = one(open_server, "notion-search", {"query": "grace", "query_type": "user"}).json["results"]
    assert people[0]["title"] == "Grace Hopper" and people[0]["url"].startswith("user://")
    empty = one(open_server, "notion-search", {"query": ""})
    assert empty.error and empty.json["code"] == "validation_error"
    newest = one(open_server, "notion-search", {"query": "", "sort": "last_edited", "page_size": 50}).json[
        "results"
    ]
    assert {"Tasks", "Reading List", "Roadmap"} <= {r["title"] for r in newest if r["type"] == "database"}
    too_many = one(open_server, "notion-search", {"query": "x", "page_size": 51})
    assert too_many.error and "page_size" in too_many.text and "Input validation error" in too_many.text


def test_fetch_pages_databases_data_sources_views_and_self(open_server):
    fetched = database(open_server, "Roadmap")
    assert fetched.json["metadata"] == {"type": "database"} and fetched.json["icon"] == {
        "type": "emoji",
        "emoji": "🗺️",
    }
    assert [s["name"] for s in sources_of(fetched)] == ["Features", "Bugs"]
    text = fetched.json["text"]
    assert (
        '<database url="{{https://app.notion.com/p/' in text
        and "<views>" in text
        and "<sqlite-table>" in text
    )
    bugs = sources_of(fetched)[1]
    source = one(open_server, "notion-fetch", {"id": bugs["url"]})
    assert source.json["metadata"] == {"type": "data_source"} and source.json["url"] == fetched.json["url"]
    assert re.search(r'"Fixed" TEXT,? -- "__YES__" or "__NO__"', source.json["text"])
    view = re.search(r'<view url="\{\{(view://[^}]+)\}\}">', text).group(1)
    assert one(open_server, "notion-fetch", {"id": view}).json["metadata"] == {"type": "view"}
    hit = one(open_server, "notion-search", {"query": "handbook"}).json["results"][0]
    page = one(open_server, "notion-fetch", {"id": hit["id"].replace("-", "")}).json
    assert page["metadata"] == {"type": "page"} and page["path"].endswith("Home")
    assert '<properties>\n{"title":"Engineering Handbook"}\n</properties>' in page["text"]
    assert (
        "We ship small changes often." in page["text"]
        and '<page url="{{https://app.notion.com/p/' in page["text"]
    )
    me = one(open_server, "notion-fetch", {"id": "self"}).json["self"]
    assert me["workspace"] == {"id": me["workspace"]["id"], "name": "Acme Corp", "icon": "🏢"}
    assert (
        me["user"]["name"] == "Ada Lovelace"
        and me["current_tool_access"]["query_data_sources"]["status"] == "available"
    )
    missing = one(open_server, "notion-fetch", {"id": "00000000-0000-4000-8000-000000000000"})
    assert missing.error and missing.json["code"] == "object_not_found"
    array = one(open_server, "notion-fetch", {"id": [hit["id"]]})
    assert array.error and "Input validation error" in array.text


def test_sql_view_and_rows_queries(open_server):
    tasks = sources_of(database(open_server, "Tasks"))[0]["url"]
    sql = f'SELECT "Name", "Status", "date:Due:start" FROM "{tasks}" WHERE "Status" = ? ORDER BY "date:Due:start" DESC LIMIT 5'
    rows = one(
        open_server,
        "notion-query-data-sources",
        {"data": {"data_source_urls": [tasks], "query": sql, "params": ["In Progress"]}},
    ).json
    assert len(rows["results"]) == 5 and {r["Status"] for r in rows["results"]} == {"In Progress"}
    dues = [r["date:Due:start"] for r in rows["results"]]
    assert dues == sorted(dues, reverse=True) and rows["has_more"] is False
    count = one(
        open_server,
        "notion-query-data-sources",
        {
            "data": {
                "data_source_urls": [tasks],
                "query": f'SELECT COUNT(*) AS n FROM "{tasks}" WHERE "Blocked" = \'__YES__\'',
            }
        },
    ).json
    assert count["results"][0]["n"] >= 1
    write = one(
        open_server,
        "notion-query-data-sources",
        {"data": {"data_source_urls": [tasks], "query": f'DELETE FROM "{tasks}"'}},
    )
    assert write.error and "read-only" in write.json["message"]
    other = one(
        open_server,
        "notion-query-data-sources",
        {
            "data": {
                "data_source_urls": [tasks],
                "query": 'SELECT * FROM "collection://00000000-0000-4000-8000-000000000000"',
            }
        },
    )
    assert other.error and "no such table" in other.json["message"]
    bare = one(
        open_server,
        "notion-query-data-sources",
        {"data": {"data_source_urls": [tasks.removeprefix("collection://")], "query": "SELECT 1"}},
    )
    assert bare.error and "collection://" in bare.json["message"]
    view_text = database(open_server, "Tasks").json["text"]
    view_id = re.search(
        r'<view url="\{\{view://([^}]+)\}\}">\n\{[^\n]*"name":"In progress"', view_text
    ).group(1)
    viewed = one(
        open_server,
        "notion-query-data-sources",
        {"data": {"mode": "view", "view_url": f"view://{view_id}", "page_size": 3}},
    ).json
    assert len(viewed["results"]) == 3 and viewed["has_more"] and viewed["next_cursor"]
    assert {r["Status"] for r in viewed["results"]} == {"In Progress"}
    rows_mode = one(open_server, "notion-query-data-sources", {"data": {
        "mode": "rows", "data_source_url": tasks, "limit": 4, "sort": [{"property": "Estimate", "direction": "descending"}],
        "filter": {"type": "group", "operator": "and", "filters": [
            {"type": "property", "property": "Tags", "propertyType": "multi_select", "operator": "enum_contains",
             "value": {"type": "exact", "value": "bug"}}]}}}).json  # fmt: skip
    assert rows_mode["results"] and all("bug" in r["Tags"] for r in rows_mode["results"])
    mixed = one(
        open_server,
        "notion-query-data-sources",
        {"data": {"mode": "view", "data_source_urls": [tasks], "query": "SELECT 1"}},
    )
    assert mixed.error and "Input validation error" in mixed.text


def test_the_plan_decides_what_the_query_tools_may_do(fresh):
    tasks = sources_of(database(fresh, "Tasks"))[0]["url"]
    projects = sources_of(database(fresh, "Projects"))[0]["url"]
    sql = {"data": {"data_source_urls": [tasks], "query": f'SELECT COUNT(*) AS n FROM "{tasks}"'}}
    both = {
        "data": {
            "data_source_urls": [tasks, projects],
            "query": f'SELECT (SELECT COUNT(*) FROM "{tasks}") + (SELECT COUNT(*) FROM "{projects}") AS n',
        }
    }
    assert one(fresh, "notion-query-data-sources", both).json["results"][0]["n"] == 76

    fresh.admin("tool-access", query_data_sources="available_with_limit", sql_calls=1)
    assert not one(fresh, "notion-query-data-sources", sql).error
    spent = one(fresh, "notion-query-data-sources", sql)
    assert spent.error and spent.json["code"] == "usage_limit_reached"
    several = one(fresh, "notion-query-data-sources", both)
    assert several.error and several.json["code"] == "plan_required"

    fresh.admin("tool-access", query_data_sources="plan_required")
    refused = one(fresh, "notion-query-data-sources", sql)
    assert refused.error and refused.json["code"] == "plan_required" and refused.json["upgrade_url"]
    access = one(fresh, "notion-fetch", {"id": "self"}).json["self"]["current_tool_access"]
    assert access["query_data_sources"]["status"] == "plan_required"

    fresh.admin("tool-access", query_data_sources="off")

    async def names(client):
        return {t.name for t in (await client.list_tools()).tools}

    assert with_client(fresh.mcp_url, names) == EXPECTED_TOOLS - {
        "notion-query-data-sources",
        "notion-query-multiple-data-sources",
    }
    gone = one(fresh, "notion-query-data-sources", sql)
    assert gone.error and "not found" in gone.text


def test_creating_pages_follows_notions_rules(fresh):
    roadmap = database(fresh, "Roadmap")
    _features, bugs = sources_of(roadmap)
    multi = one(
        fresh,
        "notion-create-pages",
        {"parent": {"database_id": roadmap.json["url"]}, "pages": [{"properties": {"Name": "x"}}]},
    )
    assert multi.error and "2 data sources" in multi.json["message"] and bugs["url"] in multi.json["message"]
    prefixed = one(
        fresh,
        "notion-create-pages",
        {"parent": {"data_source_id": bugs["url"]}, "pages": [{"properties": {"Name": "x"}}]},
    )
    assert prefixed.error and "without collection://" in prefixed.json["message"]
    bug_id = bugs["url"].removeprefix("collection://")
    made = one(fresh, "notion-create-pages", {"parent": {"data_source_id": bug_id}, "pages": [
        {"properties": {"Name": "Crash on save", "Severity": "S1", "Fixed": "__NO__"}, "content": "# Steps\n1. Save"}]}).json  # fmt: skip
    assert made["pages"][0]["properties"] == {"Name": "Crash on save", "Severity": "S1", "Fixed": "__NO__"}
    fetched = one(fresh, "notion-fetch", {"id": made["pages"][0]["url"]}).json["text"]
    assert "# Steps\n1. Save" in fetched and '"Severity":"S1"' in fetched

    tasks = sources_of(database(fresh, "Tasks"))[0]["url"].removeprefix("collection://")

    def attempt(properties):
        return one(
            fresh,
            "notion-create-pages",
            {"parent": {"data_source_id": tasks}, "pages": [{"properties": properties}]},
        )

    assert "not in the data source" in attempt({"Name": "x", "Colour": "red"}).json["message"]
    assert "number property" in attempt({"Name": "x", "Estimate": "3"}).json["message"]
    assert "__YES__" in attempt({"Name": "x", "Blocked": "yes"}).json["message"]
    assert "date:Due:start" in attempt({"Name": "x", "Due": "2026-12-01"}).json["message"]
    assert "status options" in attempt({"Name": "x", "Status": "Doing"}).json["message"]
    assert "user URLs" in attempt({"Name": "x", "Assignee": "Ada"}).json["message"]
    assert "Input validation error" in attempt({"Name": "x", "Blocked": True}).text
    before = len(fresh.admin("pages", title="Atomic")["pages"])
    mixed = one(fresh, "notion-create-pages", {"parent": {"data_source_id": tasks}, "pages": [
        {"properties": {"Name": "Atomic one"}}, {"properties": {"Name": "Atomic two", "Nope": 1}}]})  # fmt: skip
    assert mixed.error and "pages[1]" in mixed.json["message"]
    assert len(fresh.admin("pages", title="Atomic")["pages"]) == before, "a bad page leaves the others unmade"
    row = attempt({"Name": "Dated", "date:Due:start": "2026-12-01", "date:Due:is_datetime": 0, "Tags": '["bug", "new"]',
                   "Assignee": fetched_user(fresh), "Status": "Done", "Blocked": "__YES__", "Estimate": 2}).json  # fmt: skip
    assert row["pages"][0]["properties"]["Tags"] == ["bug", "new"]
    home = one(fresh, "notion-search", {"query": "Home"}).json["results"][0]
    only_title = one(
        fresh,
        "notion-create-pages",
        {"parent": {"page_id": home["id"]}, "pages": [{"properties": {"title": "Sub", "Status": "x"}}]},
    )
    assert only_title.error and 'only the property "title"' in only_title.json["message"]
    draft = one(
        fresh,
        "notion-create-pages",
        {
            "creation_mode": "draft",
            "parent": {"page_id": home["id"]},
            "pages": [{"properties": {"title": "x"}}],
        },
    )
    assert draft.error and "cannot be combined" in draft.json["message"]


def fetched_user(server) -> str:
    return "user://" + one(server, "notion-get-users", {"user_id": "self"}).json["results"][0]["id"]


def test_updating_pages_by_command(fresh):
    home = one(fresh, "notion-search", {"query": "Home"}).json["results"][0]
    made = one(fresh, "notion-create-pages", {"parent": {"page_id": home["id"]}, "pages": [
        {"properties": {"title": "Scratch"}, "content": "Alpha\nBeta\nBeta"}]}).json["pages"][0]  # fmt: skip
    page = made["id"]

    def update(**arguments):
        return one(fresh, "notion-update-page", {"page_id": page, **arguments})

    assert not update(
        command="update_content", content_updates=[{"old_str": "Alpha", "new_str": "Gamma"}]
    ).error
    twice = update(command="update_content", content_updates=[{"old_str": "Beta", "new_str": "B"}])
    assert twice.error and "matches 2 places" in twice.json["message"]
    assert not update(
        command="update_content",
        content_updates=[{"old_str": "Beta", "new_str": "B", "replace_all_matches": True}],
    ).error
    missing = update(command="update_content", content_updates=[{"old_str": "Zeta", "new_str": "x"}])
    assert missing.error and "not found" in missing.json["message"]
    assert not update(command="insert_content", content="Top", position={"type": "start"}).error
    assert not update(command="update_properties", properties={"title": "Scratch pad"}, icon="📝").error
    text = one(fresh, "notion-fetch", {"id": page}).json
    assert text["title"] == "Scratch pad" and text["icon"]["emoji"] == "📝"
    assert "<content>\nTop\nGamma\nB\nB\n</content>" in text["text"]
    old = update(command="insert_content_after", new_str="x", selection_with_ellipsis="a...b")
    assert old.error and "Input validation error" in old.text
    needs = update(command="replace_content")
    assert needs.error and 'needs "new_str"' in needs.json["message"]
    handbook = one(fresh, "notion-search", {"query": "handbook"}).json["results"][0]["id"]
    guarded = one(
        fresh, "notion-update-page", {"page_id": handbook, "command": "replace_content", "new_str": "Gone"}
    )
    assert guarded.error and "On-call Runbook" in guarded.json["message"]
    assert not one(
        fresh,
        "notion-update-page",
        {
            "page_id": handbook,
            "command": "replace_content",
            "new_str": "Gone",
            "allow_deleting_content": True,
        },
    ).error
    assert fresh.admin("pages", title="On-call Runbook")["pages"][0]["in_trash"] is True
    verified = update(
        command="update_verification", verification_status="verified", verification_expiry_days=30
    )
    assert (
        not verified.error
        and one(fresh, "notion-fetch", {"id": page}).json["verification"]["state"] == "verified"
    )


def test_moving_duplicating_creating_and_changing_databases(fresh):
    home = one(fresh, "notion-search", {"query": "Home"}).json["results"][0]
    planning = one(fresh, "notion-search", {"query": "Q3 Planning"}).json["results"][0]
    handbook = one(fresh, "notion-search", {"query": "handbook"}).json["results"][0]
    moved = one(
        fresh,
        "notion-move-pages",
        {"page_or_database_ids": [planning["id"]], "new_parent": {"page_id": handbook["id"]}},
    )
    assert not moved.error
    assert one(fresh, "notion-fetch", {"id": planning["id"]}).json["path"].endswith("Engineering Handbook")
    loop = one(
        fresh,
        "notion-move-pages",
        {"page_or_database_ids": [home["id"]], "new_parent": {"page_id": handbook["id"]}},
    )
    assert loop.error and "into itself" in loop.json["message"]
    copy = one(fresh, "notion-duplicate-page", {"page_id": planning["id"]}).json
    assert (
        copy["page_id"] != planning["id"]
        and "Cut onboarding" in one(fresh, "notion-fetch", {"id": copy["url"]}).json["text"]
    )

    created = one(fresh, "notion-create-database", {"parent": {"page_id": home["id"]}, "title": "Hiring",
        "schema": 'CREATE TABLE ("Candidate" TITLE, "Stage" SELECT(\'Screen\':blue, \'Offer\':green), "Salary" NUMBER FORMAT \'dollar\' COMMENT \'yearly\')'})  # fmt: skip
    assert not created.error and created.text.startswith("Created database:")
    source = re.search(r'<data-source url="\{\{(collection://[^}]+)\}\}">', created.text).group(1)
    changed = one(fresh, "notion-update-data-source", {"data_source_id": source, "statements":
        'ADD COLUMN "Start" DATE; RENAME COLUMN "Stage" TO "Step"; DROP COLUMN "Salary"'})  # fmt: skip
    assert not changed.error and '"Step"' in changed.text and '"Salary"' not in changed.text
    assert "date:Start:start" in changed.text
    bad = one(fresh, "notion-create-database", {"schema": 'CREATE TABLE ("A" TITLE, "B" WIDGET)'})
    assert bad.error and "WIDGET is not a property type" in bad.json["message"]
    both = one(
        fresh, "notion-create-database", {"schema": 'CREATE TABLE ("A" TITLE)', "database_type": "tasks"}
    )
    assert both.error and "exactly one" in both.json["message"]
    title = one(
        fresh,
        "notion-update-data-source",
        {"data_source_id": source, "statements": 'DROP COLUMN "Candidate"'},
    )
    assert title.error and "title property" in title.json["message"]
    typed = one(fresh, "notion-create-database", {"database_type": "tasks", "title": "My tasks"})
    assert not typed.error and '"Task name"' in typed.text


def test_comments_and_people(fresh):
    handbook = one(fresh, "notion-search", {"query": "handbook"}).json["results"][0]["id"]
    xml = one(fresh, "notion-get-comments", {"page_id": handbook}).text
    assert xml.startswith('<discussions total-count="1" shown-count="1">') and "code review?" in xml
    discussion = re.search(r'<discussion id="([^"]+)"', xml).group(1)
    assert not one(
        fresh,
        "notion-create-comment",
        {"page_id": handbook, "discussion_id": discussion, "markdown": "Yes, **soon**."},
    ).error
    assert not one(
        fresh,
        "notion-create-comment",
        {
            "page_id": handbook,
            "selection_with_ellipsis": "We ship sm...other engineer.",
            "rich_text": [{"text": {"content": "Which engineer?"}}],
        },
    ).error
    both = one(
        fresh,
        "notion-create-comment",
        {"page_id": handbook, "markdown": "a", "rich_text": [{"text": {"content": "b"}}]},
    )
    assert both.error and "exactly one" in both.json["message"]
    page_level = one(fresh, "notion-get-comments", {"page_id": handbook}).text
    assert 'comment-count="2"' in page_level and "Which engineer?" not in page_level
    everything = one(fresh, "notion-get-comments", {"page_id": handbook, "include_all_blocks": True}).text
    assert "Which engineer?" in everything and 'context="block"' in everything
    users = one(fresh, "notion-get-users", {"page_size": 2}).json
    assert len(users["results"]) == 2 and users["has_more"] and users["next_cursor"]
    rest = one(fresh, "notion-get-users", {"start_cursor": users["next_cursor"]}).json["results"]
    assert any(u["type"] == "bot" for u in rest)
    assert (
        one(fresh, "notion-get-users", {"query": "grace"}).json["results"][0]["email"] == "grace@acme.example"
    )
    teams = one(fresh, "notion-get-teams", {}).json
    assert {t["name"] for t in teams["joinedTeams"]} == {"General", "Engineering"} and teams["otherTeams"][0][
        "name"
    ] == "Sales"


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


def test_the_token_response_is_notions_plain_one(secured):
    _, token = _tokens(secured)
    assert token["expires_in"] == 3600 and token["refresh_token"] and token["token_type"] == "Bearer"
    assert "workspace_name" not in token, "the hosted server names no workspace here: fetch self does"


def test_the_server_advertises_the_hosted_scope(secured):
    resource = httpx.get(f"{secured.url}/.well-known/oauth-protected-resource/mcp").json()
    assert resource["scopes_supported"] == ["default"]
    assert httpx.get(f"{secured.url}/.well-known/oauth-authorization-server").json()["scopes_supported"] == [
        "default"
    ]


def test_strict_mode_checks_redirect_uris_byte_for_byte():
    import base64
    import hashlib
    import secrets

    with DevNotionProcess(auth=True, auto_approve=True, strict_redirects=True) as server:

        def register(uris):
            return httpx.post(f"{server.url}/register", json={"redirect_uris": uris, "token_endpoint_auth_method": "none",
                              "grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]})  # fmt: skip

        assert register([]).status_code == 400
        assert register(["javascript:alert(1)"]).json()["error"] == "invalid_client_metadata"
        chrome = "https://aikfhgidlkadhpijaojkkpakcdplakaf.chromiumapp.org/oauth/notion"
        client = register([chrome, "http://127.0.0.1:5000/cb"]).json()
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()

        def authorize(redirect, **extra):
            return httpx.get(f"{server.url}/authorize", params={"response_type": "code", "client_id": client["client_id"],
                             "redirect_uri": redirect, "code_challenge": challenge, "code_challenge_method": "S256",
                             "state": "s", **extra})  # fmt: skip

        for near_miss in (
            chrome + "/",
            chrome.upper().replace("HTTPS", "https"),
            chrome + "?x=1",
            chrome.replace("notion", "Notion"),
        ):
            refused = authorize(near_miss)
            assert (
                refused.status_code == 400 and "Invalid redirect URI" in refused.json()["error_description"]
            ), near_miss
        assert authorize(chrome).status_code == 302
        scoped = authorize(chrome, scope="everything")
        assert scoped.status_code == 302 and "error=invalid_scope" in scoped.headers["location"]
        code = parse_qs(urlsplit(authorize(chrome, scope="default").headers["location"]).query)["code"][0]
        swapped = httpx.post(f"{server.url}/token", data={"grant_type": "authorization_code", "code": code,
                             "redirect_uri": chrome + "/", "client_id": client["client_id"], "code_verifier": verifier})  # fmt: skip
        assert swapped.status_code == 400 and swapped.json()["error"] == "invalid_grant"
        checks = server.admin("redirect-checks")
        assert checks["registered"][client["client_id"]] == [chrome, "http://127.0.0.1:5000/cb"]
        assert {r["where"] for r in checks["refusals"]} == {"register", "authorize", "token"}


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
