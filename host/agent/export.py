"""A conversation as Markdown: for a file the person downloads, or a page saved to Notion."""

from __future__ import annotations

import contextlib
import datetime
import json
from typing import Any

#: Characters of a tool result an export keeps.
RESULT_CHARS = 1000


def _quote(text: str) -> str:
    return "\n".join("> " + line if line else ">" for line in text.splitlines() or [""])


def to_markdown(title: str, messages: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> str:
    lines = [f"# {title}", ""]
    names: dict[str, str] = {}
    for message in messages:
        role = message.get("role")
        if message.get("synthetic"):
            continue
        if role == "user":
            lines += [f"**You:** {message.get('display') or message.get('content') or ''}", ""]
            context = message.get("context")
            if isinstance(context, dict) and (context.get("url") or context.get("title")):
                lines += [
                    f"*With the page: {context.get('title') or ''} {context.get('url') or ''}*".strip(),
                    "",
                ]
        elif role == "assistant":
            if message.get("content"):
                lines += [f"**Assistant:** {message['content']}", ""]
            for call in message.get("tool_calls") or []:
                name = call.get("function", {}).get("name", "")
                names[call.get("id", "")] = name
                arguments = call.get("function", {}).get("arguments") or "{}"
                with contextlib.suppress(ValueError):
                    arguments = json.dumps(json.loads(arguments), ensure_ascii=False)
                lines += [_quote(f"Tool call `{name}` with `{arguments}`"), ""]
        elif role == "tool":
            content = str(message.get("content") or "")
            if len(content) > RESULT_CHARS:
                content = content[:RESULT_CHARS] + f" … ({len(content) - RESULT_CHARS:,} more characters)"
            name = names.get(message.get("tool_call_id", ""), "the tool")
            lines += [_quote(f"Result of `{name}`:\n{content}"), ""]
    footer = f"Exported from Notion MCP Bridge on {datetime.date.today().isoformat()}"
    if usage and (usage.get("prompt_tokens") or usage.get("completion_tokens")):
        footer += f"; {usage['prompt_tokens']:,} tokens in, {usage['completion_tokens']:,} out"
        if usage.get("cost") is not None:
            footer += f", ${usage['cost']:.4f}"
    lines += ["---", "", f"*{footer}.*", ""]
    return "\n".join(lines)
