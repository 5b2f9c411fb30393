"""Conversations and their tool calls, kept in a SQLite database under the data folder.

Every message is committed the moment it exists, so a crash or a host restart loses nothing already shown.
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
        self._lock = threading.Lock()

    def create(self, title: str = "") -> str:
        """A new conversation; an empty title leaves it to be named by its first message (``name``)."""
        conversation_id = uuid.uuid4().hex
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?)",
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

    def delete(self, conversation_id: str) -> bool:
        with self._lock:
            self._db.execute("DELETE FROM messages WHERE conversation_id=?", (conversation_id,))
            deleted = self._db.execute("DELETE FROM conversations WHERE id=?", (conversation_id,)).rowcount
        return bool(deleted)
