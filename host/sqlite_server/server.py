"""The SQLite MCP server's tools.

Read-only is enforced by SQLite, not by looking at the SQL: without ``--allow-writes`` the database is opened
with ``mode=ro``, and every statement a person or a model sends runs under an authorizer that admits only the
actions its tool is for. ``read_query`` runs that way even when writes are allowed, so a crafted "SELECT" can
never write, and nothing can ATTACH another file (which is also how ``VACUUM INTO`` would write one).

The write tools are listed only when writes are allowed: a model offered a tool that always fails wastes
steps on it, and the person sees in the options page whether writes are on.

Every statement stops. It runs on a worker thread with its own connection, and stops when its caller gives up
(a timeout or a cancel reaches us as ``notifications/cancelled``, which cancels the tool: the connection is
interrupted and the tool waits for the thread to end) and, whoever is waiting, when its wall-clock limit
passes (a progress handler inside SQLite). No single value may be larger than the result limit
(``SQLITE_LIMIT_LENGTH``, so ``zeroblob(1e9)`` fails inside SQLite before allocating anything), rows stop
being fetched once the result reaches that limit, and only the functions on an explicit list may be called.
"""

from __future__ import annotations

import asyncio
import base64
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from host.sqlite_server.limits import DEFAULT_MAX_RESULT_BYTES, DEFAULT_STATEMENT_TIMEOUT_S
from host.sqlite_server.stdio import StdioServer, Tool, ToolError, ToolResult

#: SQLite virtual-machine steps between two looks at the clock and the cancel flag (microseconds apart).
_PROGRESS_STEPS = 1000
#: How long a cancelled tool waits for its interrupted worker thread before leaving it behind.
_STOP_WAIT_S = 5.0
#: Statements that may run at once; more wait for a thread.
_WORKERS = 8

_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_RECURSIVE,
}
_WRITE_ACTIONS = {sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE}
_ACTION_NAMES = {
    value: name.removeprefix("SQLITE_").lower().replace("_", " ")
    for name, value in vars(sqlite3).items()
    if name.startswith("SQLITE_")
    and isinstance(value, int)
    and name not in ("SQLITE_OK", "SQLITE_DENY", "SQLITE_IGNORE")
}
_SCHEMA_TABLES = {"sqlite_master", "sqlite_schema", "sqlite_temp_master", "sqlite_sequence"}

#: The SQL functions a statement may call: what reading (and plain writing) needs, named one by one. Anything
#: else is refused by name, among them fts3_tokenizer (hands out a native pointer), load_extension, the CLI's
#: readfile/writefile/edit, fts5 and sqlite_compileoption_*; a function SQLite adds later stays refused until
#: it is listed here.
ALLOWED_FUNCTIONS = frozenset(
    {
        # core scalar functions (https://sqlite.org/lang_corefunc.html)
        *("abs", "char", "coalesce", "concat", "concat_ws", "format", "glob", "hex", "if", "ifnull", "iif"),
        *("instr", "length", "like", "likelihood", "likely", "lower", "ltrim", "max", "min", "nullif"),
        *("octet_length", "printf", "quote", "random", "randomblob", "replace", "round", "rtrim", "sign"),
        *("soundex", "substr", "substring", "trim", "typeof", "unhex", "unicode", "unistr", "unistr_quote"),
        *("unlikely", "upper", "zeroblob", "sqlite_version", "changes", "last_insert_rowid", "total_changes"),
        # aggregate functions
        *("avg", "count", "group_concat", "string_agg", "sum", "total"),
        *("median", "percentile", "percentile_cont", "percentile_disc"),
        # date and time
        *("date", "time", "datetime", "julianday", "unixepoch", "strftime", "timediff"),
        *("current_date", "current_time", "current_timestamp"),
        # math
        *("acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "ceil", "ceiling", "cos", "cosh"),
        *("degrees", "exp", "floor", "ln", "log", "log10", "log2", "mod", "pi", "pow", "power", "radians"),
        *("sin", "sinh", "sqrt", "tan", "tanh", "trunc"),
        # JSON (json_each and json_tree are tables, not functions)
        *("json", "jsonb", "json_array", "jsonb_array", "json_array_length", "json_error_position"),
        *("json_extract", "jsonb_extract", "->", "->>", "json_insert", "jsonb_insert", "json_object"),
        *("jsonb_object", "json_patch", "jsonb_patch", "json_pretty", "json_quote", "json_remove"),
        *("jsonb_remove", "json_replace", "jsonb_replace", "json_set", "jsonb_set", "json_type"),
        *("json_valid", "json_group_array", "jsonb_group_array", "json_group_object", "jsonb_group_object"),
        # window functions
        *("row_number", "rank", "dense_rank", "percent_rank", "cume_dist", "ntile", "lag", "lead"),
        *("first_value", "last_value", "nth_value"),
    }
)

Params = list[Any] | dict[str, Any] | None
Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]
T = TypeVar("T")


def describe_size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale and size % (scale // 4) == 0:
            return f"{size / scale:g} {unit}"
    return f"{size} bytes"


class _Denied:
    """Collects what the authorizer refused, so the error can name it instead of SQLite's bare 'not authorized'."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def deny(self, action: int, detail: str | None) -> int:
        self.actions.append(_ACTION_NAMES.get(action, str(action)) + (f" {detail}" if detail else ""))
        return sqlite3.SQLITE_DENY

    def function(self, name: str | None) -> int:
        if name is not None and name.lower() in ALLOWED_FUNCTIONS:
            return sqlite3.SQLITE_OK
        self.actions.append(f"function {name}() (not on this server's list of allowed functions)")
        return sqlite3.SQLITE_DENY


def _read_authorizer(denied: _Denied) -> Authorizer:
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION:
            return denied.function(arg2)
        if action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        return denied.deny(action, arg1)

    return authorize


def _write_authorizer(denied: _Denied, *, allow_create: bool) -> Authorizer:
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action == sqlite3.SQLITE_FUNCTION:
            return denied.function(arg2)
        if action in _READ_ACTIONS or action == sqlite3.SQLITE_TRANSACTION:
            return sqlite3.SQLITE_OK
        if action in _WRITE_ACTIONS:
            # CREATE TABLE records itself in the schema table; plain DML must never touch it.
            if arg1 in _SCHEMA_TABLES and not allow_create:
                return denied.deny(action, arg1)
            return sqlite3.SQLITE_OK
        if allow_create and action == sqlite3.SQLITE_CREATE_TABLE:
            return sqlite3.SQLITE_OK
        return denied.deny(action, arg1)

    return authorize


class _Statement:
    """One call's work on its worker thread, and the means to stop it from the event loop's thread.

    Stopping is belt and braces: ``interrupt()`` ends the statement at SQLite's next check, and the progress
    handler, which SQLite calls every few thousand steps, ends it too once the flag is set or the deadline
    passed (it also catches a cancel that came before the statement began, which ``interrupt()`` may miss).
    """

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        self.deadline = time.monotonic() + timeout_s
        self.stopped: str | None = None
        """Why it was stopped: ``"cancelled"`` or ``"time"``."""
        self._connection: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _progress(self) -> int:
        if self.stopped is None and time.monotonic() > self.deadline:
            self.stopped = "time"
        return 1 if self.stopped else 0

    def check(self) -> None:
        """Raise if the work should stop (between rows, where Python is in charge)."""
        if self._progress():
            raise self.failure()

    def failure(self) -> ToolError:
        if self.stopped == "time":
            return ToolError(
                f"the statement was stopped after {self.timeout_s:g} s, the limit for one statement "
                "(statement_timeout_s); narrow it down or add a LIMIT"
            )
        return ToolError("the statement was cancelled")

    def cancel(self) -> None:
        with self._lock:
            if self.stopped is None:
                self.stopped = "cancelled"
            if self._connection is not None:
                self._connection.interrupt()

    @contextmanager
    def attached(self, connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
        # The clock runs from here, not from the call: time spent waiting for a free worker thread is not
        # the statement's.
        self.deadline = time.monotonic() + self.timeout_s
        connection.set_progress_handler(self._progress, _PROGRESS_STEPS)
        with self._lock:
            self._connection = connection
        try:
            self.check()
            yield connection
        finally:
            with self._lock:  # never interrupt a connection that is being closed
                self._connection = None


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _row_line(columns: list[str], row: dict[str, Any]) -> str:
    return " | ".join("NULL" if row[c] is None else str(row[c]) for c in columns)


class SQLiteTools:
    def __init__(
        self,
        db: Path,
        *,
        allow_writes: bool,
        max_rows: int,
        query_log: Path | None = None,
        max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
        statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S,
    ) -> None:
        self.db = db
        self.allow_writes = allow_writes
        self.max_rows = max_rows
        self.query_log = query_log
        """Where every statement a caller asks to run is appended first: an audit trail of what was asked."""
        self.max_result_bytes = max_result_bytes
        """The most a result's rows may take as JSON (the text shows the same rows), and the largest value."""
        self.statement_timeout_s = statement_timeout_s
        # Idle workers block on their queue: nothing wakes the process while nobody calls.
        self._pool = ThreadPoolExecutor(_WORKERS, thread_name_prefix="statement")

    # --- running a statement -----------------------------------------------------------------------

    async def _in_worker(self, work: Callable[[_Statement], T]) -> T:
        """Run ``work`` on a worker thread; when this call is cancelled, stop it and wait for the thread."""
        statement = _Statement(self.statement_timeout_s)
        started, finished = threading.Event(), threading.Event()

        def run() -> T:
            started.set()
            try:
                statement.check()
                return work(statement)
            finally:
                finished.set()

        future = asyncio.get_running_loop().run_in_executor(self._pool, run)
        try:
            return await future
        except asyncio.CancelledError:
            statement.cancel()
            if started.is_set():
                # The thread must not outlive the call: a cancelled query that kept a core busy is the bug.
                deadline = time.monotonic() + _STOP_WAIT_S
                while not finished.is_set() and time.monotonic() < deadline:
                    await asyncio.sleep(0.002)
            raise

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        mode = "ro" if read_only or not self.allow_writes else "rw"
        connection = sqlite3.connect(
            f"{self.db.as_uri()}?mode={mode}", uri=True, isolation_level=None, check_same_thread=False
        )
        # A value larger than a whole result could never be returned: refuse to build it at all.
        connection.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, self.max_result_bytes)
        if mode == "ro":
            connection.execute("PRAGMA query_only = ON")
        return connection

    @contextmanager
    def _session(self, statement: _Statement, *, read_only: bool) -> Iterator[sqlite3.Connection]:
        connection = self._connect(read_only=read_only)
        try:
            with statement.attached(connection):
                yield connection
        except sqlite3.Error as exc:
            raise self._failure(exc, statement, None) from None
        finally:
            connection.close()

    def _failure(self, exc: sqlite3.Error, statement: _Statement, denied: _Denied | None) -> ToolError:
        if statement.stopped:
            return statement.failure()
        if denied is not None and denied.actions:
            return ToolError(f"not allowed here: {', '.join(denied.actions)}")
        if isinstance(exc, sqlite3.ProgrammingError):
            return ToolError(f"{exc} (one statement per call; parameters must match the ? or :name marks)")
        if "too big" in str(exc):
            return ToolError(
                f"a value would be larger than {describe_size(self.max_result_bytes)}, the limit for a result "
                f"(max_result_bytes); ask for part of it, e.g. with substr() or length() ({exc})"
            )
        return ToolError(f"SQLite error: {exc}")

    def _log(self, sql: str) -> None:
        if self.query_log is not None:
            with self.query_log.open("a", encoding="utf-8") as log:
                log.write(json.dumps({"time": time.time(), "sql": sql}) + "\n")

    def _execute(
        self,
        connection: sqlite3.Connection,
        statement: _Statement,
        sql: str,
        params: Params,
        authorizer: Callable[[_Denied], Authorizer],
        use: Callable[[sqlite3.Cursor], T],
    ) -> T:
        denied = _Denied()
        connection.set_authorizer(authorizer(denied))
        try:
            return use(connection.execute(sql, params if params is not None else ()))
        except sqlite3.Error as exc:
            raise self._failure(exc, statement, denied) from None

    # --- tools -------------------------------------------------------------------------------------

    async def list_tables(self) -> ToolResult:
        def work(statement: _Statement) -> list[str]:
            with self._session(statement, read_only=True) as connection:
                return [
                    r[0]
                    for r in connection.execute(
                        "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
                        "ORDER BY name"
                    )
                ]

        names = await self._in_worker(work)
        return ToolResult(
            text="\n".join(names) or "(no tables)",
            structured={"tables": names},
        )

    async def describe_table(self, table: str) -> ToolResult:
        def work(statement: _Statement) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
            with self._session(statement, read_only=True) as connection:
                exists = connection.execute(
                    "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,)
                ).fetchone()
                if not exists:
                    raise ToolError(f"no table named {table!r}; list_tables shows the tables")
                quoted = '"' + table.replace('"', '""') + '"'
                columns = [
                    {
                        "name": r[1],
                        "type": r[2],
                        "not_null": bool(r[3]),
                        "default": r[4],
                        "primary_key": bool(r[5]),
                    }
                    for r in connection.execute(f"PRAGMA table_info({quoted})")
                ]
                foreign_keys = [
                    {"column": r[3], "references_table": r[2], "references_column": r[4]}
                    for r in connection.execute(f"PRAGMA foreign_key_list({quoted})")
                ]
                row_count = connection.execute(f"SELECT COUNT(*) FROM {quoted}").fetchone()[0]
                return columns, foreign_keys, row_count

        columns, foreign_keys, row_count = await self._in_worker(work)
        lines = [f"{table} ({row_count} rows)"]
        for column in columns:
            flags = [
                f
                for f, on in (("primary key", column["primary_key"]), ("not null", column["not_null"]))
                if on
            ]
            lines.append(f"  {column['name']} {column['type']}" + (f" ({', '.join(flags)})" if flags else ""))
        lines += [
            f"  {fk['column']} -> {fk['references_table']}.{fk['references_column']}" for fk in foreign_keys
        ]
        return ToolResult(
            text="\n".join(lines),
            structured={
                "table": table,
                "columns": columns,
                "foreign_keys": foreign_keys,
                "row_count": row_count,
            },
        )

    async def read_query(self, query: str, params: Params = None) -> ToolResult:
        first_word = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
        if first_word not in ("SELECT", "WITH"):
            raise ToolError("read_query runs SELECT (or WITH … SELECT) statements only")

        def work(statement: _Statement) -> ToolResult:
            self._log(query)
            with self._session(statement, read_only=True) as connection:
                return self._execute(
                    connection,
                    statement,
                    query,
                    params,
                    _read_authorizer,
                    lambda cursor: self._collect(cursor, statement),
                )

        return await self._in_worker(work)

    def _collect(self, cursor: sqlite3.Cursor, statement: _Statement) -> ToolResult:
        """Fetch rows until the row limit or the byte limit, whichever comes first, and say which it was."""
        columns = [d[0] for d in cursor.description or []]
        rows: list[dict[str, Any]] = []
        lines: list[str] = []
        size = 0
        truncated_by: str | None = None
        while (fetched := cursor.fetchone()) is not None:
            statement.check()
            if len(rows) == self.max_rows:
                truncated_by = "rows"
                break
            row = {c: _json_value(v) for c, v in zip(columns, fetched, strict=True)}
            line = _row_line(columns, row)
            # The rows as they go on the wire in the structured result; the text is about as large again.
            size += len(json.dumps(row, ensure_ascii=False).encode()) + 1
            if size > self.max_result_bytes:
                truncated_by = "bytes"
                break
            rows.append(row)
            lines.append(line)
        return ToolResult(
            text=self._table_text(columns, lines, truncated_by),
            structured={
                "columns": columns,
                "rows": rows,
                "row_count": len(rows),
                "truncated": truncated_by is not None,
                "truncated_by": truncated_by,
            },
        )

    def _table_text(self, columns: list[str], lines: list[str], truncated_by: str | None) -> str:
        count = f"{len(lines)} rows" if lines else "no rows"
        if truncated_by == "rows":
            footer = f"({count}, truncated: there are more rows than the limit of {self.max_rows})"
        elif truncated_by == "bytes":
            footer = (
                f"({count}, truncated: the next row would take the result past "
                f"{describe_size(self.max_result_bytes)}, the limit for a result)"
            )
        elif lines:
            footer = f"({count})"
        else:
            return "(no rows)"
        return "\n".join([" | ".join(columns), *lines, footer]) if lines else footer

    async def write_query(self, query: str, params: Params = None) -> ToolResult:
        first_word = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
        if first_word not in ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"):
            raise ToolError("write_query runs INSERT, UPDATE, DELETE or REPLACE statements only")

        def work(statement: _Statement) -> tuple[int, int | None]:
            self._log(query)
            with self._session(statement, read_only=False) as connection:
                return self._execute(
                    connection,
                    statement,
                    query,
                    params,
                    lambda d: _write_authorizer(d, allow_create=False),
                    lambda cursor: (cursor.rowcount, cursor.lastrowid),
                )

        affected, last_id = await self._in_worker(work)
        return ToolResult(
            text=f"{affected} row(s) affected",
            structured={"rows_affected": affected, "last_row_id": last_id},
        )

    async def create_table(self, query: str) -> ToolResult:
        if not query.lstrip().upper().startswith("CREATE TABLE"):
            raise ToolError("create_table runs CREATE TABLE statements only")

        def work(statement: _Statement) -> None:
            self._log(query)
            with self._session(statement, read_only=False) as connection:
                self._execute(
                    connection,
                    statement,
                    query,
                    None,
                    lambda d: _write_authorizer(d, allow_create=True),
                    lambda cursor: None,
                )

        await self._in_worker(work)
        return ToolResult(text="table created", structured={"created": True})


_QUERY = {"type": "string", "title": "Query"}
_PARAMS = {
    "anyOf": [
        {"type": "array", "items": {}},
        {"type": "object", "additionalProperties": True},
        {"type": "null"},
    ],
    "default": None,
    "title": "Params",
}


def build_server(
    db: Path,
    *,
    allow_writes: bool,
    max_rows: int = 1000,
    query_log: Path | None = None,
    max_result_bytes: int = DEFAULT_MAX_RESULT_BYTES,
    statement_timeout_s: float = DEFAULT_STATEMENT_TIMEOUT_S,
) -> StdioServer:
    tools = SQLiteTools(
        db,
        allow_writes=allow_writes,
        max_rows=max_rows,
        query_log=query_log,
        max_result_bytes=max_result_bytes,
        statement_timeout_s=statement_timeout_s,
    )
    server = StdioServer(
        "sqlite",
        version="1.0",
        instructions=(
            f"SQLite database {db.name}. Use list_tables and describe_table to learn the schema, then read_query."
            + ("" if allow_writes else " Writes are disabled for this database.")
        ),
    )
    read = {"readOnlyHint": True, "openWorldHint": False}
    server.add_tool(
        Tool("list_tables", "List the tables in the database.", tools.list_tables, annotations=read)
    )
    server.add_tool(
        Tool(
            "describe_table",
            "Columns (type, nullability, primary key), foreign keys and row count of one table.",
            tools.describe_table,
            properties={"table": {"type": "string", "title": "Table"}},
            required=("table",),
            annotations=read,
        )
    )
    server.add_tool(
        Tool(
            "read_query",
            "Run one SELECT (or WITH … SELECT) statement. Pass values as params: a list for ? marks or an object "
            f"for :name marks. At most {max_rows} rows and {describe_size(max_result_bytes)} come back; "
            "'truncated' says when there was more and 'truncated_by' which limit cut it ('rows' or 'bytes'). "
            f"A statement is stopped after {statement_timeout_s:g} s. Core, aggregate, date and time, math, "
            "JSON and window functions may be called; others are refused.",
            tools.read_query,
            properties={"query": _QUERY, "params": _PARAMS},
            required=("query",),
            annotations=read,
        )
    )
    if allow_writes:
        server.add_tool(
            Tool(
                "write_query",
                "Run one INSERT, UPDATE, DELETE or REPLACE statement, with params as for read_query.",
                tools.write_query,
                properties={"query": _QUERY, "params": _PARAMS},
                required=("query",),
                annotations={"readOnlyHint": False, "destructiveHint": True, "openWorldHint": False},
            )
        )
        server.add_tool(
            Tool(
                "create_table",
                "Run one CREATE TABLE statement.",
                tools.create_table,
                properties={"query": _QUERY},
                required=("query",),
                annotations={"readOnlyHint": False, "destructiveHint": False, "openWorldHint": False},
            )
        )
    return server
