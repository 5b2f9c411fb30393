"""A walk through Notion's hosted MCP server with your own account, through the host's own engine: sign in
(your browser opens once; the sign-in is kept under the probe's profile), list the tools and print how each differs
from the snapshot the Notion-compatible server follows, then search → fetch → query (where your plan offers it) →
create a page under the page you name → update it → comment on it → move it to the trash.

    NOTION_BRIDGE_LIVE=1 NOTION_BRIDGE_LIVE_PARENT=https://www.notion.so/Your-page-0123… \\
        .venv/bin/python -m pytest -s tests/live

NOTION_BRIDGE_LIVE_URL changes the server (https://mcp.notion.com/mcp by default). Every call's arguments are first
checked against the snapshot's inputSchema, so a difference shows as a difference, not as a puzzling refusal.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest

from host.commands.probe import remote_session
from host.commands.tool_diff import diff_tools

SNAPSHOT = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "notion_hosted_tools.json").read_text(encoding="utf-8")
)
SCHEMAS = {t["name"]: t["inputSchema"] for t in SNAPSHOT["tools"]}
URL = os.environ.get("NOTION_BRIDGE_LIVE_URL", "https://mcp.notion.com/mcp")
PARENT = os.environ.get("NOTION_BRIDGE_LIVE_PARENT", "")


def say(line: str = "") -> None:
    print(line, flush=True)


class Walk:
    def __init__(self, connection: Any) -> None:
        self.connection = connection

    async def call(self, tool: str, arguments: dict[str, Any], *, may_fail: bool = False) -> Any:
        if tool in SCHEMAS:
            problems = [
                e.message for e in jsonschema.Draft202012Validator(SCHEMAS[tool]).iter_errors(arguments)
            ]
            assert not problems, f"{tool}: the snapshot's schema refuses these arguments: {problems}"
        result = await self.connection.call_tool(tool, arguments, 120)
        text = "\n".join(b.text for b in result.content if getattr(b, "type", "") == "text")
        say(f"  {tool} -> {'error' if result.is_error else 'ok'} ({len(text)} characters)")
        if result.is_error and not may_fail:
            raise AssertionError(f"{tool} failed: {text[:1000]}")
        try:
            return json.loads(text), bool(result.is_error)
        except ValueError:
            return text, bool(result.is_error)


async def walk() -> None:
    async with remote_session(URL, auth="browser") as connection:
        w = Walk(connection)
        tools = [
            t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in await connection.list_tools()
        ]
        names = {t["name"] for t in tools}
        say(f"\n{URL} offers {len(tools)} tools. Differences from tests/fixtures/notion_hosted_tools.json:")
        for line in diff_tools(SNAPSHOT["tools"], tools) or ["(none)"]:
            say(f"  {line}")

        say("\nfetch self")
        me, _ = await w.call("notion-fetch", {"id": "self"})
        workspace = me["self"]["workspace"]
        access = me["self"].get("current_tool_access", {})
        say(
            f"  workspace {workspace.get('name')!r}, icon {workspace.get('icon')!r}; query access: {access.get('query_data_sources')}"
        )
        say(f"  the answer's keys: self={sorted(me['self'])}, workspace={sorted(workspace)}")

        say("\nsearch")
        found, _ = await w.call("notion-search", {"query": "", "sort": "last_edited", "page_size": 25})
        results = found["results"]
        assert results, "the workspace search found nothing at all"
        say(f"  {len(results)} results; keys of the first: {sorted(results[0])}")

        say("\nfetch")
        first, _ = await w.call("notion-fetch", {"id": results[0].get("url") or results[0]["id"]})
        say(f"  a {first['metadata']['type']}: keys {sorted(first)}")
        database = next((r for r in results if r.get("type") == "database"), None)
        if database is None:
            say("  no database among the results: the query step is left out")
        else:
            fetched, _ = await w.call("notion-fetch", {"id": database.get("url") or database["id"]})
            sources = re.findall(r'<data-source url="\{\{(collection://[^}]+)\}\}">', fetched["text"])
            say(f"  the database {database.get('title')!r} has {len(sources)} data source(s)")
            offered = "notion-query-data-sources" in names and (access.get("query_data_sources") or {}).get(
                "status", "available"
            ) in ("available", "available_with_limit")
            say("\nquery")
            if not sources or not offered:
                say(
                    f"  not offered here (tool listed: {'notion-query-data-sources' in names}, access: {access.get('query_data_sources')})"
                )
            else:
                rows, failed = await w.call(
                    "notion-query-data-sources",
                    {
                        "data": {
                            "data_source_urls": [sources[0]],
                            "query": f'SELECT * FROM "{sources[0]}" LIMIT 3',
                        }
                    },
                    may_fail=True,
                )
                if failed:
                    say("  refused: " + json.dumps(rows)[:300])
                else:
                    say(f"  {len(rows.get('results', []))} rows; the answer's keys: {sorted(rows)}")

        if not PARENT:
            pytest.fail(
                "name a page to create the test page under: NOTION_BRIDGE_LIVE_PARENT=<its URL or id>"
            )
        title = f"Notion MCP Bridge live check {time.strftime('%Y-%m-%d %H:%M:%S')}"
        say(f"\ncreate {title!r} under {PARENT}")
        made, _ = await w.call(
            "notion-create-pages",
            {
                "parent": {"page_id": PARENT},
                "pages": [{"properties": {"title": title}, "content": "First line.\n\nSecond line."}],
            },
        )
        say(f"  the answer: {json.dumps(made)[:400]}")
        page = re.search(
            r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", json.dumps(made)
        ).group(0)

        say("\nupdate")
        await w.call(
            "notion-update-page",
            {"page_id": page, "command": "update_properties", "properties": {"title": title + " (updated)"}},
        )
        replace = [{"old_str": "Second line.", "new_str": "Second line, changed."}]
        await w.call(
            "notion-update-page", {"page_id": page, "command": "update_content", "content_updates": replace}
        )
        text, _ = await w.call("notion-fetch", {"id": page})
        assert "Second line, changed." in text["text"] and "(updated)" in text["title"]

        say("\ncomment")
        await w.call("notion-create-comment", {"page_id": page, "markdown": "Checked by the **live** test."})
        comments, _ = await w.call("notion-get-comments", {"page_id": page})
        assert "live" in str(comments)

        say("\nmove to the trash")
        parent, _ = await w.call("notion-fetch", {"id": PARENT})
        either = "(?:" + re.escape(page.replace("-", "")) + "|" + re.escape(page) + ")"
        tag = re.search(r'<page url="\{\{[^}]*' + either + r'[^}]*\}\}">[^<]*</page>', parent["text"])
        if tag is None:
            say("  the parent's content does not show the page's tag: left in place, delete it by hand")
        else:
            removal = {"page_id": PARENT, "command": "update_content", "allow_deleting_content": True,
                       "content_updates": [{"old_str": tag.group(0), "new_str": ""}]}  # fmt: skip
            await w.call("notion-update-page", removal)
            gone, failed = await w.call("notion-fetch", {"id": page}, may_fail=True)
            say(f"  fetched afterwards: {'refused' if failed else 'still there'}: {json.dumps(gone)[:200]}")


def test_walk_the_hosted_server_with_your_own_account():
    anyio.run(walk)
