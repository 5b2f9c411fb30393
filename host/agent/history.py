"""Conversations and their tool calls, kept in a SQLite database under the data folder.

Every message is committed the moment it exists, so a crash or a host restart loses nothing already shown. A
conversation also keeps what it has cost (tokens and dollars, across every turn it ran, regenerated ones
included), the summary of its earliest messages when the person has the chat summarise instead of leaving them
out, and how its last request fit the model's context.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    role TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at REAL NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
"""

#: Columns added since the first version; an older database gets them on open.
ADDED_COLUMNS = {
    "summary": "TEXT",
    "summary_until": "INTEGER NOT NULL DEFAULT 0",
    "context": "TEXT",
    "prompt_tokens": "INTEGER NOT NULL DEFAULT 0",
    "completion_tokens": "INTEGER NOT NULL DEFAULT 0",
    "cost": "REAL",
}

#: How a conversation with no title yet (started by chat.new, nothing sent) is listed.
UNTITLED = "New chat"


class History:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # With WAL, NORMAL still never corrupts the database; a power cut may lose the last message, not more.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(SCHEMA)
        have = {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}
        for column, kind in ADDED_COLUMNS.items():
            if column not in have:
                self._db.execute(f"ALTER TABLE conversations ADD COLUMN {column} {kind}")
        # Case-insensitive search beyond ASCII (SQLite's own lower() knows only A-Z).
        self._db.create_function("casefold", 1, _casefold, deterministic=True)
        self._lock = threading.Lock()

    def create(self, title: str = "") -> str:
        """A new conversation; an empty title leaves it to be named by its first message (``name``)."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations (id, title, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (conversation_id, title.strip()[:120], now, now),
            )
        return conversation_id

    def name(self, conversation_id: str, title: str) -> None:
        """Give a conversation that has no title yet this one; a title it already has stays."""
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET title=? WHERE id=? AND title=''",
                (title.strip()[:120] or UNTITLED, conversation_id),
            )

    def exists(self, conversation_id: str) -> bool:
        with self._lock:
            return (
                self._db.execute("SELECT 1 FROM conversations WHERE id=?", (conversation_id,)).fetchone()
                is not None
            )

    def append(self, conversation_id: str, message: dict[str, Any]) -> int:
        """Store one message (an OpenAI-style chat message, plus any display fields); returns its position."""
        now = time.time()
        with self._lock:
            (seq,) = self._db.execute(
                "SELECT COALESCE(MAX(seq), -1) + 1 FROM messages WHERE conversation_id=?", (conversation_id,)
            ).fetchone()
            self._db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?)",
                (conversation_id, seq, message["role"], json.dumps(message), now),
            )
            self._db.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now, conversation_id))
        return int(seq)

    def messages(self, conversation_id: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM messages WHERE conversation_id=? ORDER BY seq", (conversation_id,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def conversations(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, title, created_at, updated_at FROM conversations ORDER BY updated_at DESC"
            ).fetchall()
        return [{"id": r[0], "title": r[1] or UNTITLED, "created_at": r[2], "updated_at": r[3]} for r in rows]

    def rename(self, conversation_id: str, title: str) -> bool:
        with self._lock:
            changed = self._db.execute(
                "UPDATE conversations SET title=? WHERE id=?", (title.strip()[:120], conversation_id)
            ).rowcount
        return bool(changed)

    def truncate(self, conversation_id: str, from_seq: int) -> None:
        """Forget the messages from ``from_seq`` on (a regenerated or edited turn); what they cost stays."""
        with self._lock:
            self._db.execute(
                "DELETE FROM messages WHERE conversation_id=? AND seq>=?", (conversation_id, from_seq)
            )
            # A summary of messages that are gone no longer describes the conversation.
            self._db.execute(
                "UPDATE conversations SET summary=NULL, summary_until=0 WHERE id=? AND summary_until>?",
                (conversation_id, from_seq),
            )

    def summary(self, conversation_id: str) -> tuple[str, int] | None:
        """(the summary, how many of the first messages it stands for), if there is one."""
        with self._lock:
            row = self._db.execute(
                "SELECT summary, summary_until FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
        return (row[0], int(row[1])) if row and row[0] else None

    def set_summary(self, conversation_id: str, summary: str, until: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET summary=?, summary_until=? WHERE id=?",
                (summary, until, conversation_id),
            )

    def context(self, conversation_id: str) -> dict[str, Any] | None:
        """How the conversation's last request fit the model's context (``ChatContext``'s fields)."""
        with self._lock:
            row = self._db.execute(
                "SELECT context FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
        return json.loads(row[0]) if row and row[0] else None

    def set_context(self, conversation_id: str, context: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET context=? WHERE id=?", (json.dumps(context), conversation_id)
            )

    def add_usage(
        self, conversation_id: str, prompt_tokens: int, completion_tokens: int, cost: float | None
    ) -> dict[str, Any]:
        """Add one turn's usage; returns the conversation's totals. A cost of None (prices not known) adds
        nothing to the dollars, which stay None until some turn's cost is known."""
        with self._lock:
            self._db.execute(
                "UPDATE conversations SET prompt_tokens=prompt_tokens+?, completion_tokens=completion_tokens+?,"
                " cost=CASE WHEN ? IS NULL THEN cost ELSE COALESCE(cost, 0)+? END WHERE id=?",
                (prompt_tokens, completion_tokens, cost, cost, conversation_id),
            )
        return self.usage(conversation_id)

    def usage(self, conversation_id: str) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute(
                "SELECT prompt_tokens, completion_tokens, cost FROM conversations WHERE id=?",
                (conversation_id,),
            ).fetchone()
        if row is None:
            return {"prompt_tokens": 0, "completion_tokens": 0, "cost": None}
        return {"prompt_tokens": row[0], "completion_tokens": row[1], "cost": row[2]}

    def title(self, conversation_id: str) -> str:
        with self._lock:
            row = self._db.execute(
                "SELECT title FROM conversations WHERE id=?", (conversation_id,)
            ).fetchone()
        return (row[0] if row else "") or UNTITLED

    def search(self, query: str, limit: int = 50) -> list[dict[str, Any]]:
        """Conversations whose title or whose person's or model's words hold ``query`` (any case), newest
        first, each with the first matching words."""
        needle = _casefold(query.strip())
        if not needle:
            return []
        text = "COALESCE(json_extract(m.body, '$.display'), json_extract(m.body, '$.content'))"
        with self._lock:
            rows = self._db.execute(
                f"""SELECT c.id, c.title, c.created_at, c.updated_at, {text}
                FROM conversations c LEFT JOIN messages m ON m.conversation_id = c.id
                  AND m.role IN ('user', 'assistant') AND json_extract(m.body, '$.synthetic') IS NULL
                  AND instr(casefold({text}), ?) > 0
                WHERE instr(casefold(c.title), ?) > 0 OR m.seq IS NOT NULL
                ORDER BY c.updated_at DESC, m.seq""",
                (needle, needle),
            ).fetchall()
        found: dict[str, dict[str, Any]] = {}
        for conversation_id, title, created, updated, words in rows:
            if conversation_id in found:
                continue
            if len(found) >= limit:
                break
            found[conversation_id] = {
                "id": conversation_id,
                "title": title or UNTITLED,
                "created_at": created,
                "updated_at": updated,
                "snippet": _snippet(words if isinstance(words, str) else title or "", needle),
            }
        return list(found.values())

    def delete(self, conversation_id: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE conversation_id=?", (conversation_id,))
            deleted = self._db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,)).rowcount
        return bool(deleted)


def _casefold(text: Any) -> Any:
    return text.casefold() if isinstance(text, str) else text


def _snippet(text: str, needle: str, width: int = 60) -> str:
    """The words around the first match, on one line."""
    flat = " ".join(text.split())
    at = _casefold(flat).find(needle)
    if at < 0:
        return flat[: width * 2]
    start = max(0, at - width)
    end = min(len(flat), at + len(needle) + width)
    return ("…" if start else "") + flat[start:end] + ("…" if end < len(flat) else "")
