"""The built-in SQLite MCP server, as the host runs it: a stdio child on a real database file."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from host.sqlite_server.sample import PROJECTS, TASKS, USERS, create_sample_database


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite") / "sample.db"
    create_sample_database(path)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def session(db: Path, *extra: str):
    return Client(
        StdioServerParameters(
            command=sys.executable, args=["-m", "host.sqlite_server", "--db", str(db), *extra]
        )
    )


def run_calls(db: Path, calls: list[tuple[str, dict[str, Any]]], *extra: str) -> tuple[list[str], list[Any]]:
    """Start the server, list its tools, make the calls in order; return tool names and results."""

    async def go() -> tuple[list[str], list[Any]]:
        async with session(db, *extra) as client:
            names = [tool.name for tool in (await client.list_tools()).tools]
            return names, [await client.call_tool(name, args) for name, args in calls]

    return anyio.run(go)


def test_the_sample_database_has_related_tables_and_hundreds_of_rows(sample_db):
    with sqlite3.connect(sample_db) as db:
        counts = {
            t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
            for t in ("teams", "users", "projects", "tasks")
        }
        assert db.execute("PRAGMA foreign_key_check").fetchall() == []
    assert counts == {"teams": 5, "users": USERS, "projects": PROJECTS, "tasks": TASKS}


def test_read_only_by_default_lists_only_read_tools_and_answers_queries(sample_db):
    names, (tables, described, counted, bound) = run_calls(
        sample_db,
        [
            ("list_tables", {}),
            ("describe_table", {"table": "tasks"}),
            ("read_query", {"query": "SELECT COUNT(*) AS n FROM users"}),
            ("read_query", {"query": "SELECT name FROM teams WHERE id = :id", "params": {"id": 1}}),
        ],
    )
    assert names == ["list_tables", "describe_table", "read_query"]
    assert tables.structured_content == {"tables": ["projects", "tasks", "teams", "users"]}
    assert {
        "column": "project_id",
        "references_table": "projects",
        "references_column": "id",
    } in described.structured_content["foreign_keys"]
    assert described.structured_content["row_count"] == TASKS
    assert counted.structured_content["rows"] == [{"n": USERS}]
    assert bound.structured_content["rows"] == [{"name": "Platform"}]


def test_rows_are_capped_with_a_truncated_flag(sample_db):
    _, (result,) = run_calls(
        sample_db, [("read_query", {"query": "SELECT id FROM tasks"})], "--max-rows", "7"
    )
    assert result.structured_content["row_count"] == 7 and result.structured_content["truncated"] is True


CRAFTED = [
    "SELECT 1; DELETE FROM users",
    "WITH x AS (SELECT 1) DELETE FROM users",
    "WITH x AS (SELECT 1) INSERT INTO teams(name) VALUES ('evil')",
    "ATTACH DATABASE 'evil.db' AS evil",
    "SELECT load_extension('evil')",
    "VACUUM INTO 'evil-copy.db'",
    "PRAGMA writable_schema = ON",
    "SELECT * FROM users; DROP TABLE users",
    "UPDATE users SET name = 'evil'",
    "REPLACE INTO teams(id, name) VALUES (1, 'evil')",
    "INSERT INTO teams(name) SELECT name FROM teams",
    "DELETE FROM tasks WHERE 1 = 1 RETURNING id",
    "DROP TABLE users",
    "CREATE TABLE evil(x)",
    "CREATE TEMP TABLE evil AS SELECT * FROM users",
    "CREATE TRIGGER evil AFTER INSERT ON teams BEGIN DELETE FROM users; END",
    "ALTER TABLE users RENAME TO evil",
    "CREATE INDEX evil ON users(name)",
    "PRAGMA journal_mode = DELETE",
    "PRAGMA user_version = 7",
    "BEGIN IMMEDIATE",
    "SELECT 1 /* ; */ ; DELETE FROM users",
    "select 1;\n-- hidden\nDELETE FROM users",
]


def test_crafted_sql_cannot_write_when_writes_are_off(sample_db, tmp_path):
    db = tmp_path / "guarded.db"
    shutil.copy(sample_db, db)
    before = digest(db)
    _, results = run_calls(db, [("read_query", {"query": q}) for q in CRAFTED])
    assert all(r.is_error for r in results), [r.content[0].text for r in results if not r.is_error]
    assert digest(db) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["guarded.db"]


def test_read_query_cannot_write_even_when_writes_are_on(sample_db, tmp_path):
    db = tmp_path / "writable.db"
    shutil.copy(sample_db, db)
    before = digest(db)
    _, results = run_calls(db, [("read_query", {"query": q}) for q in CRAFTED], "--allow-writes")
    assert all(r.is_error for r in results)
    assert digest(db) == before


def test_writes_work_when_allowed(sample_db, tmp_path):
    db = tmp_path / "writable.db"
    shutil.copy(sample_db, db)
    names, (created, inserted, updated, read) = run_calls(
        db,
        [
            ("create_table", {"query": "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"}),
            ("write_query", {"query": "INSERT INTO notes (body) VALUES (?), (?)", "params": ["a", "b"]}),
            ("write_query", {"query": "UPDATE users SET role = 'lead' WHERE team_id = ?", "params": [1]}),
            ("read_query", {"query": "SELECT body FROM notes ORDER BY id"}),
        ],
        "--allow-writes",
    )
    assert {"write_query", "create_table"} <= set(names)
    assert not created.is_error and inserted.structured_content["rows_affected"] == 2
    assert updated.structured_content["rows_affected"] > 0
    assert read.structured_content["rows"] == [{"body": "a"}, {"body": "b"}]


def test_write_tools_refuse_other_statements(sample_db, tmp_path):
    db = tmp_path / "writable.db"
    shutil.copy(sample_db, db)
    before = digest(db)
    _, results = run_calls(
        db,
        [
            ("write_query", {"query": "DROP TABLE users"}),
            ("write_query", {"query": "DELETE FROM sqlite_master"}),
            ("write_query", {"query": "ATTACH DATABASE 'x.db' AS x"}),
            ("create_table", {"query": "CREATE TABLE t (x); DROP TABLE users"}),
        ],
        "--allow-writes",
    )
    assert all(r.is_error for r in results)
    assert digest(db) == before


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (("read_query", {"query": "SELEC nope"}), "SELECT"),
        (("read_query", {"query": "SELECT * FROM no_such_table"}), "no such table: no_such_table"),
        (("read_query", {"query": "SELECT * FROM users WHERE id = ?"}), "bindings"),
        (("describe_table", {"table": "ghosts"}), "no table named 'ghosts'"),
        (("read_query", {"query": 42}), "query"),
    ],
)
def test_bad_calls_are_tool_errors_that_name_the_cause(sample_db, call, words):
    _, (result,) = run_calls(sample_db, [call])
    assert result.is_error and words in result.content[0].text


def test_a_missing_database_is_refused_with_its_path(tmp_path):
    import subprocess

    done = subprocess.run(
        [sys.executable, "-m", "host.sqlite_server", "--db", str(tmp_path / "absent.db")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2 and "absent.db" in done.stderr
