"""The built-in SQLite MCP server, as the host runs it: a stdio child on a real database file."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client, StdioServerParameters

from host.sqlite_server.sample import PROJECTS, TASKS, USERS, create_sample_database
from tests.support.figures import record
from tests.support.processes import children_of, cpu_seconds, rss_bytes


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


# --- functions: an explicit list, everything else refused by name ----------------------------------------

DENIED_FUNCTIONS = [
    ("fts3_tokenizer", "SELECT fts3_tokenizer('simple')"),
    ("load_extension", "SELECT load_extension('evil')"),
    ("sqlite_compileoption_get", "SELECT sqlite_compileoption_get(0)"),
    ("sqlite_compileoption_used", "SELECT sqlite_compileoption_used('THREADSAFE')"),
    ("sqlite_offset", "SELECT sqlite_offset(id) FROM users"),
    ("readfile", "SELECT readfile('/etc/passwd')"),
    ("writefile", "SELECT writefile('evil.txt', 'x')"),
    ("edit", "SELECT edit('x', 'vi')"),
    ("fts3_tokenizer", "SELECT name FROM users WHERE fts3_tokenizer('simple') IS NOT NULL"),
    ("fts3_tokenizer", "WITH t AS (SELECT fts3_tokenizer('porter') AS p) SELECT hex(p) FROM t"),
]


@pytest.mark.parametrize(("name", "query"), DENIED_FUNCTIONS)
def test_functions_not_on_the_list_are_refused_by_name(sample_db, name, query):
    _, (result,) = run_calls(sample_db, [("read_query", {"query": query})])
    text = result.content[0].text
    print(f"\n{query} -> {text}")
    assert result.is_error and f"{name}" in text
    assert "not allowed here" in text or "no such function" in text


def test_the_write_tools_refuse_unlisted_functions_too(sample_db, tmp_path):
    db = tmp_path / "writable.db"
    shutil.copy(sample_db, db)
    before = digest(db)
    _, results = run_calls(
        db,
        [
            ("write_query", {"query": "UPDATE teams SET notion_database = hex(fts3_tokenizer('simple'))"}),
            ("write_query", {"query": "INSERT INTO teams(name) SELECT load_extension('evil')"}),
        ],
        "--allow-writes",
    )
    assert [r.is_error for r in results] == [True, True]
    assert "function fts3_tokenizer()" in results[0].content[0].text
    assert "function load_extension()" in results[1].content[0].text
    assert digest(db) == before


def test_the_functions_reading_needs_still_work(sample_db):
    query = """
        SELECT count(*) AS n, sum(priority) AS total, lower('ABC') AS low, upper('abc') AS up,
               json_extract('{"a": {"b": 7}}', '$.a.b') AS j, '{"a": 3}' ->> '$.a' AS arrow,
               json_array_length(json_array(1, 2, 3)) AS jl, json_object('k', 1) AS jo,
               date('2024-02-28', '+2 days') AS d, strftime('%Y', '2024-05-01') AS y,
               julianday('2024-01-02') - julianday('2024-01-01') AS days,
               printf('%05.1f', 3.14159) AS p, coalesce(NULL, 'x') AS c, ifnull(NULL, 2) AS i,
               substr('abcdef', 2, 3) AS s, length('héllo') AS len, abs(-4) AS a, round(2.567, 1) AS r,
               typeof(1.5) AS t, replace('a-b', '-', '+') AS rep, trim('  x ') AS tr, instr('abc', 'c') AS ins,
               max(priority) AS hi, min(priority) AS lo, avg(priority) BETWEEN 1 AND 4 AS avg_ok,
               total(priority) AS tot, nullif(1, 1) AS nul, iif(1, 'y', 'n') AS yes, hex('A') AS h,
               quote('it''s') AS q, char(65) AS ch, unicode('A') AS u, sqrt(16) AS sq, floor(2.5) AS fl,
               'a' LIKE 'A' AS lk, 'abc' GLOB 'a*' AS gl, CAST(zeroblob(2) AS BLOB) = x'0000' AS zb
        FROM tasks
    """
    windows = """
        SELECT id, row_number() OVER (ORDER BY id DESC) AS rn, rank() OVER (ORDER BY notion_database) AS rk,
               dense_rank() OVER (ORDER BY notion_database) AS dr, lag(id) OVER (ORDER BY id) AS prev,
               lead(id) OVER (ORDER BY id) AS next, first_value(id) OVER (ORDER BY id) AS first,
               sum(id) OVER (ORDER BY id) AS running, ntile(2) OVER (ORDER BY id) AS half,
               group_concat(name, '/') OVER (ORDER BY id) AS names
        FROM teams ORDER BY id
    """
    _, (row, window, grouped) = run_calls(
        sample_db,
        [
            ("read_query", {"query": query}),
            ("read_query", {"query": windows}),
            ("read_query", {"query": "SELECT team_id, count(*) AS n FROM users GROUP BY team_id ORDER BY 1"}),
        ],
    )
    assert not row.is_error, row.content[0].text
    got = row.structured_content["rows"][0]
    assert got["n"] == TASKS and got["low"] == "abc" and got["up"] == "ABC" and got["j"] == 7
    assert got["arrow"] == 3 and got["jl"] == 3 and got["jo"] == '{"k":1}'
    assert got["d"] == "2024-03-01" and got["y"] == "2024" and got["days"] == 1.0
    assert got["p"] == "003.1" and got["c"] == "x" and got["i"] == 2 and got["s"] == "bcd"
    assert got["len"] == 5 and got["a"] == 4 and got["r"] == 2.6 and got["t"] == "real"
    assert got["rep"] == "a+b" and got["tr"] == "x" and got["ins"] == 3
    assert (got["hi"], got["lo"], got["avg_ok"], got["nul"], got["yes"]) == (4, 1, 1, None, "y")
    assert (got["h"], got["q"], got["ch"], got["u"], got["sq"], got["fl"]) == (
        "41",
        "'it''s'",
        "A",
        65,
        4.0,
        2.0,
    )
    assert (got["lk"], got["gl"], got["zb"]) == (1, 1, 1)
    assert not window.is_error, window.content[0].text
    first = window.structured_content["rows"][0]
    assert first["rn"] == 5 and first["prev"] is None and first["next"] == 2 and first["first"] == 1
    assert window.structured_content["rows"][-1]["names"].count("/") == 4
    assert sum(r["n"] for r in grouped.structured_content["rows"]) == USERS


# --- limits: time per statement, size of a result ---------------------------------------------------------

ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"


def sqlite_child() -> int:
    """The SQLite server this test process started (Linux: found through /proc)."""
    (pid,) = children_of(os.getpid(), b"host.sqlite_server")
    return pid


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_runaway_statement_stops_at_its_time_limit_and_the_next_one_answers(sample_db):
    async def go() -> None:
        async with session(sample_db, "--statement-timeout-s", "1") as client:
            started = time.monotonic()
            stopped = await client.call_tool("read_query", {"query": ENDLESS})
            took = time.monotonic() - started
            pid = sqlite_child()
            cpu_before = cpu_seconds(pid)
            await anyio.sleep(0.5)
            idle_cpu = cpu_seconds(pid) - cpu_before
            after = await client.call_tool("read_query", {"query": "SELECT COUNT(*) AS n FROM users"})
            record(
                "sqlite_statement_time_limit",
                {
                    "limit_s": 1,
                    "answered_after_s": round(took, 3),
                    "cpu_s_in_the_next_0_5_s": round(idle_cpu, 3),
                },
            )
            assert stopped.is_error
            assert "1 s" in stopped.content[0].text and "statement_timeout_s" in stopped.content[0].text
            assert idle_cpu < 0.2, "the statement went on after its answer"
            assert after.structured_content["rows"] == [{"n": USERS}]

    anyio.run(go)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_a_huge_value_is_refused_at_once_and_the_memory_stays_modest(sample_db):
    figures: dict[str, Any] = {}

    async def go() -> None:
        async with session(sample_db) as client:
            await client.call_tool("read_query", {"query": "SELECT 1"})
            pid = sqlite_child()
            figures["rss_before_mib"] = round(rss_bytes(pid) / 2**20, 1)
            results = {}
            for label, query in (
                ("zeroblob_20MB", "SELECT zeroblob(20000000)"),
                ("zeroblob_1GB", "SELECT zeroblob(1000000000)"),
                ("randomblob_20MB", "SELECT length(randomblob(20000000))"),
                ("printf_20MB", "SELECT printf('%.*c', 20000000, 'x')"),
                (
                    "group_concat_over_4MiB",
                    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c "
                    "LIMIT 300000) SELECT length(group_concat(printf('%020d', x))) FROM c",
                ),
            ):
                started = time.monotonic()
                results[label] = await client.call_tool("read_query", {"query": query})
                figures[f"{label}_s"] = round(time.monotonic() - started, 3)
            figures["rss_after_mib"] = round(rss_bytes(pid) / 2**20, 1)
            record("sqlite_huge_values", figures)
            # printf() stops at the limit by itself and gives NULL rather than an error.
            assert results.pop("printf_20MB").structured_content["rows"] == [
                {"printf('%.*c', 20000000, 'x')": None}
            ]
            for label, result in results.items():
                assert result.is_error, label
                text = result.content[0].text
                assert "4 MiB" in text and "max_result_bytes" in text, text
            assert figures["rss_after_mib"] - figures["rss_before_mib"] < 64

    anyio.run(go)


def test_rows_stop_at_the_byte_limit_and_the_result_says_so(sample_db):
    query = "SELECT id, printf('%.*c', 1000, 'x') AS filler FROM tasks ORDER BY id"
    _, (cut, whole) = run_calls(
        sample_db,
        [("read_query", {"query": query}), ("read_query", {"query": "SELECT id FROM tasks"})],
        "--max-result-bytes",
        "20000",
    )
    content = cut.structured_content
    size = sum(len(json.dumps(row).encode()) + 1 for row in content["rows"])
    assert content["truncated"] is True and content["truncated_by"] == "bytes"
    assert 0 < content["row_count"] < TASKS and size <= 20000
    assert [r["id"] for r in content["rows"]] == list(range(1, content["row_count"] + 1))
    assert "truncated" in cut.content[0].text and "19.5 KiB" not in cut.content[0].text
    assert "20000 bytes, the limit for a result" in cut.content[0].text
    assert whole.structured_content["truncated"] is False and whole.structured_content["truncated_by"] is None


def test_a_cut_by_rows_says_which_limit_cut_it(sample_db):
    _, (result,) = run_calls(
        sample_db, [("read_query", {"query": "SELECT id FROM tasks"})], "--max-rows", "7"
    )
    assert result.structured_content["truncated_by"] == "rows"
    assert "more rows than the limit of 7" in result.content[0].text


def test_a_first_row_larger_than_the_limit_comes_back_as_no_rows_with_the_reason(sample_db):
    # Each value fits under the limit; the row as a whole does not.
    _, (result,) = run_calls(
        sample_db,
        [("read_query", {"query": "SELECT printf('%.*c', 1500, 'x') AS a, printf('%.*c', 1500, 'y') AS b"})],
        "--max-result-bytes",
        "2048",
    )
    assert result.structured_content["rows"] == [] and result.structured_content["truncated_by"] == "bytes"
    assert result.content[0].text.startswith(
        "(no rows, truncated: the next row would take the result past 2 KiB"
    )


def test_the_limits_go_from_the_server_config_to_the_command_line():
    from host.config import ServerConfig

    plain = ServerConfig(id="sqlite", name="S", kind="stdio", builtin="sqlite", db_path="/x.db")
    assert "--max-result-bytes" not in plain.launch_command()
    assert "--statement-timeout-s" not in plain.launch_command()
    tuned = plain.model_copy(update={"max_result_bytes": 65536, "statement_timeout_s": 2.5})
    argv = tuned.launch_command()
    assert argv[argv.index("--max-result-bytes") + 1] == "65536"
    assert argv[argv.index("--statement-timeout-s") + 1] == "2.5"
    with pytest.raises(ValueError, match="built-in SQLite server only"):
        ServerConfig(id="x", name="X", kind="stdio", command=["x"], statement_timeout_s=5)


@pytest.mark.filterwarnings("ignore:ping is removed")
def test_a_client_of_the_handshake_era_is_served_too(sample_db):
    """initialize / ping and a negotiated version, for clients that predate server/discover."""

    async def go() -> tuple[str, list[str], Any]:
        params = StdioServerParameters(
            command=sys.executable, args=["-m", "host.sqlite_server", "--db", str(sample_db)]
        )
        async with Client(params, mode="legacy") as client:
            await client.send_ping()
            names = [tool.name for tool in (await client.list_tools()).tools]
            result = await client.call_tool("read_query", {"query": "SELECT COUNT(*) AS n FROM teams"})
            return client.protocol_version, names, result

    version, names, result = anyio.run(go)
    assert version == "2025-11-25"
    assert names == ["list_tables", "describe_table", "read_query"]
    assert result.structured_content["rows"] == [{"n": 5}]


def test_broken_json_rpc_gets_errors_that_name_the_cause_and_the_server_keeps_serving(sample_db):
    import subprocess

    lines = [
        "this is not JSON",
        json.dumps({"jsonrpc": "2.0", "id": 1, "method": "no/such/method"}),
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": "not an object"}),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 3,
                "method": "tools/call",
                "params": {"name": "read_query", "arguments": {"query": "SELECT 1 AS one"}},
            }
        ),
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": 4,
                "method": "tools/call",
                "params": {"name": "read_query", "arguments": {"params": []}},
            }
        ),
    ]
    server = subprocess.Popen(
        [sys.executable, "-m", "host.sqlite_server", "--db", str(sample_db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    server.stdin.write("\n".join(lines) + "\n")
    server.stdin.flush()
    # One answer per line; stdin stays open until they are all in (its end cancels what still runs).
    answers = [json.loads(server.stdout.readline()) for _ in lines]
    server.stdin.close()
    assert server.wait(30) == 0
    by_id = {answer.get("id"): answer for answer in answers}
    assert by_id[None]["error"]["code"] == -32700
    assert by_id[1]["error"] == {"code": -32601, "message": "Method not found", "data": "no/such/method"}
    assert by_id[2]["error"]["code"] == -32602
    assert by_id[3]["result"]["structuredContent"]["rows"] == [{"one": 1}]
    assert by_id[4]["result"]["isError"] is True
    assert "'query' is required" in by_id[4]["result"]["content"][0]["text"]


def test_the_host_uses_the_sqlite_child_it_started_early_and_no_other(tmp_path):
    """The child spawned right after the hello is the one that serves: one child, answering."""
    from devkit.host_process import HostProcess, write_config

    write_config(tmp_path, [{"id": "sqlite", "name": "SQLite", "kind": "stdio", "builtin": "sqlite",
                             "db_path": str(tmp_path / "data" / "sample.db")}])  # fmt: skip
    with HostProcess(tmp_path) as host:
        host.wait_state("sqlite", "connected", timeout=60)
        answer = host.result("tool.call", server="sqlite", tool="list_tables", arguments={})
        assert answer["structuredContent"]["tables"] == ["projects", "tasks", "teams", "users"]
        assert len(children_of(host.proc.pid, b"host.sqlite_server")) == 1
        assert host.states_seen("sqlite") == ["connecting", "connected"]
