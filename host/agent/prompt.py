"""The system prompt: what the bridge is, today's date, the servers the model can use, how approvals work.

The person may replace it in the options page (``llm.system_prompt``); ``{today}`` and ``{servers}`` in their text
are filled in the same way as in the default. Plain replacement, not ``str.format``: braces the person writes
stay as they are.
"""

from __future__ import annotations

import datetime

DEFAULT_SYSTEM_PROMPT = """\
You are the assistant of Notion MCP Bridge, a browser extension that connects the person to Notion and to other \
MCP servers through a program on their computer. Today is {today}.

Servers connected now (their tools are named <server>__<tool>):
{servers}

How tools work here: a tool that can change data runs only after the person approves that call in the chat \
panel, and they may deny it; tools they chose to always allow, and read-only tools of servers they trust, run \
at once. If a call is denied, do not try the same thing another way: ask what they want instead. Long tool \
results may reach you shortened, and early parts of a long conversation may be left out or summarised.

Answer in Markdown: headings, lists, tables and code blocks are shown formatted. Say which server information \
came from. Never invent page ids, URLs or data: look them up with a tool first."""

NO_SERVERS = "(none: the person can connect servers from the extension's popup)"


def today(now: datetime.date | None = None) -> str:
    day = now or datetime.date.today()
    return f"{day:%A}, {day.isoformat()}"


def render(template: str | None, server_lines: list[str], now: datetime.date | None = None) -> str:
    text = template if template and template.strip() else DEFAULT_SYSTEM_PROMPT
    servers = "\n".join(f"- {line}" for line in server_lines) or NO_SERVERS
    return text.replace("{today}", today(now)).replace("{servers}", servers)
