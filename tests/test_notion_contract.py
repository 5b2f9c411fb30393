"""The contract between the double and Notion's hosted server, and between the extension's forms and both.

tests/fixtures/notion_hosted_tools.json is the hosted server's tools/list for the tools the double implements (its
sources: docs/notion-compat.md). dev_notion must list exactly those tools, with the same names, titles,
descriptions, inputSchemas and annotations, and serve the same resources; when the hosted server changes, the
snapshot changes (tests/live/ prints the differences) and this test fails until the double follows.

Every path through the extension's Notion forms, and the chat panel's Save page and Save chat
(tests/support/quick_forms.mjs runs the real modules), must produce arguments the snapshot's inputSchema accepts,
and the double must carry them out: the compiled SQL included.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest
from mcp import Client

from dev_notion.testing import DevNotionProcess

ROOT = Path(__file__).resolve().parents[1]
SNAPSHOT = json.loads((ROOT / "tests" / "fixtures" / "notion_hosted_tools.json").read_text(encoding="utf-8"))
SQL_SHAPE = re.compile(
    r'^SELECT \* FROM "collection://[0-9a-f-]{36}"( WHERE .+?)?( ORDER BY "[^"]+" (ASC|DESC))? LIMIT \d+$'
)


@pytest.fixture(scope="module")
def notion():
    with DevNotionProcess(auth=False) as server:
        yield server


def call(server: DevNotionProcess, body: Any) -> Any:
    async def go() -> Any:
        async with Client(server.mcp_url) as client:
            return await body(client)

    return anyio.run(go)


def test_the_double_lists_exactly_the_hosted_tools(notion):
    async def listed(client):
        return [
            t.model_dump(mode="json", by_alias=True, exclude_none=True)
            for t in (await client.list_tools()).tools
        ]

    served = {t["name"]: t for t in call(notion, listed)}
    expected = {t["name"]: t for t in SNAPSHOT["tools"]}
    assert set(served) == set(expected)
    for name, tool in expected.items():
        mine = served[name]
        for key in ("title", "description", "inputSchema", "annotations"):
            assert mine.get(key) == tool[key], f"{name}: {key} differs from the hosted server's"
        assert "outputSchema" not in mine, f"{name}: the hosted tool declares no outputSchema"


def test_the_double_serves_the_hosted_resources(notion):
    async def resources(client):
        listed = (await client.list_resources()).resources
        read = await client.read_resource("notion://docs/enhanced-markdown-spec")
        fetched = await client.call_tool("notion-fetch", {"id": "notion://docs/enhanced-markdown-spec"})
        return listed, read, fetched

    listed, read, fetched = call(notion, resources)
    assert [(str(r.uri), r.mime_type) for r in listed] == [
        (r["uri"], r["mimeType"]) for r in SNAPSHOT["resources"]
    ]
    assert "Notion-flavoured Markdown" in read.contents[0].text
    assert fetched.content[0].text == read.contents[0].text, (
        "fetch of a notion://docs URI gives the resource itself"
    )


def test_a_flat_query_call_is_refused_as_the_hosted_server_refuses_it(notion):
    async def flat(client):
        return await client.call_tool(
            "notion-query-data-sources",
            {"data_source_id": "x", "filter": {"property": "Status", "status": {"equals": "Done"}}},
        )

    result = call(notion, flat)
    assert result.is_error
    text = result.content[0].text
    assert text.startswith(
        "MCP error -32602: Input validation error: Invalid arguments for tool notion-query-data-sources:"
    )
    assert json.loads(text.split(": ", 3)[3])[0]["path"] == ["data"]


def test_every_form_path_fits_the_hosted_schemas_and_runs_on_the_double(notion):
    node = shutil.which("node")
    assert node, "node is required for the extension's modules"

    async def world(client):
        found = json.loads((await client.call_tool("notion-search", {"query": "Tasks"})).content[0].text)
        database = next(r for r in found["results"] if r["type"] == "database" and r["title"] == "Tasks")
        fetched = json.loads(
            (await client.call_tool("notion-fetch", {"id": database["url"]})).content[0].text
        )
        home = next(
            r
            for r in json.loads((await client.call_tool("notion-search", {"query": "Home"})).content[0].text)[
                "results"
            ]
        )
        users = json.loads((await client.call_tool("notion-get-users", {})).content[0].text)["results"]
        return fetched, home, users

    fetched, home, users = call(notion, world)
    state = json.loads(
        re.search(r"<data-source-state>\n(.*?)\n</data-source-state>", fetched["text"], re.S).group(1)
    )
    schema = {
        name: {"type": p["type"], "options": [o["name"] for o in p.get("options", [])]}
        for name, p in state["schema"].items()
    }
    given = {"source": state["url"], "schema": schema, "pageId": home["id"], "userId": users[0]["id"]}
    outputs = json.loads(
        subprocess.run(
            [node, str(ROOT / "tests" / "support" / "quick_forms.mjs")],
            input=json.dumps(given), capture_output=True, text=True, check=True, timeout=60,
        ).stdout
    )  # fmt: skip
    assert len(outputs) > 60, "every property type's every operator, sorts, creates, updates and a comment"
    schemas = {t["name"]: t["inputSchema"] for t in SNAPSHOT["tools"]}

    async def run_all(client):
        answers = []
        for output in outputs:
            answers.append(await client.call_tool(output["tool"], output["arguments"]))
        return answers

    for output in outputs:
        errors = list(
            jsonschema.Draft202012Validator(schemas[output["tool"]]).iter_errors(output["arguments"])
        )
        assert not errors, f"{output['path']}: {errors[0].message}"
        if output["tool"] == "notion-query-data-sources":
            assert SQL_SHAPE.match(output["arguments"]["data"]["query"]), output["arguments"]["data"]["query"]
            assert output["arguments"]["data"]["query"].count("?") == len(
                output["arguments"]["data"].get("params", [])
            )
    answers = call(notion, run_all)
    for output, answer in zip(outputs, answers, strict=True):
        assert not answer.is_error, f"{output['path']}: {answer.content[0].text[:300]}"
    by_path = {o["path"]: json.loads(a.content[0].text) for o, a in zip(outputs, answers, strict=True)}
    in_progress = by_path["query Status equals"]["results"]
    assert in_progress and {r["Status"] for r in in_progress} == {schema["Status"]["options"][0]}
    assert by_path["create row"]["pages"][0]["properties"]["Name"] == "From the contract test"
    for what in ("chat", "page"):
        row = by_path[f"save {what} as a row"]["pages"][0]
        assert row["properties"]["Name"] == f"{what.capitalize()} saved by the contract test", row
    saved = notion.admin("pages", title="Chat saved by the contract test")["pages"]
    assert sorted(p["parent"]["type"] for p in saved) == ["data_source", "page"]
    assert all("**You:** hi" in p["content"] and "# Chat saved" not in p["content"] for p in saved), (
        "the conversation is the body, its title the page's own, not a heading again"
    )
