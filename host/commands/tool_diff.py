"""How a server's tools/list differs from a snapshot of it: tools added and gone, and per tool the inputSchema and
annotations paths that appeared, disappeared or changed. ``notion-bridge probe --compare`` and tests/live/ print
it, so the Notion-compatible server (and its snapshot, tests/fixtures/notion_hosted_tools.json) can follow Notion.

Descriptions are compared apart: the snapshot shortens them, so a differing description is reported once per
tool, not path by path.
"""

from __future__ import annotations

import json
from typing import Any

Tool = dict[str, Any]


def _walk(value: Any, path: str = "") -> dict[str, Any]:
    """Every leaf of a JSON value by its path; descriptions left out."""
    if isinstance(value, dict):
        found: dict[str, Any] = {}
        if not value:
            found[path or "/"] = {}
        for key, inner in value.items():
            if key in ("description", "title", "$schema"):
                continue
            found.update(_walk(inner, f"{path}/{key}"))
        return found
    if isinstance(value, list):
        if not value:
            return {path or "/": []}
        found = {}
        for n, inner in enumerate(value):
            found.update(_walk(inner, f"{path}/{n}"))
        return found
    return {path or "/": value}


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:77] + "..."


def diff_tool(snapshot: Tool, live: Tool) -> list[str]:
    lines: list[str] = []
    for part in ("inputSchema", "annotations"):
        before, after = _walk(snapshot.get(part) or {}), _walk(live.get(part) or {})
        for path in sorted(set(before) | set(after)):
            if path not in after:
                lines.append(f"  {part}{path}: gone (was {_short(before[path])})")
            elif path not in before:
                lines.append(f"  {part}{path}: new ({_short(after[path])})")
            elif before[path] != after[path]:
                lines.append(f"  {part}{path}: {_short(before[path])} -> {_short(after[path])}")
    if (snapshot.get("title") or "") != (live.get("title") or ""):
        lines.append(f"  title: {snapshot.get('title')!r} -> {live.get('title')!r}")
    if "outputSchema" in live:
        lines.append("  outputSchema: the server now declares one")
    return lines


def diff_tools(snapshot: list[Tool], live: list[Tool]) -> list[str]:
    """Lines saying how ``live`` differs from ``snapshot``; empty when their schemas agree."""
    mine = {t["name"]: t for t in snapshot}
    theirs = {t["name"]: t for t in live}
    lines: list[str] = []
    for name in sorted(set(mine) - set(theirs)):
        lines.append(f"{name}: not offered by the server (in the snapshot)")
    for name in sorted(set(theirs) - set(mine)):
        lines.append(f"{name}: offered by the server, not in the snapshot")
    described = 0
    for name in sorted(set(mine) & set(theirs)):
        changes = diff_tool(mine[name], theirs[name])
        if changes:
            lines.append(f"{name}:")
            lines += changes
        described += (mine[name].get("description") or "") != (theirs[name].get("description") or "")
    if described:
        lines.append(f"({described} tool description(s) differ in wording; the snapshot shortens them)")
    return lines
