"""The SQLite MCP server's tools.

Read-only is enforced by SQLite, not by looking at the SQL: without ``--allow-writes`` the database is opened
with ``mode=ro``, and every statement a person or a model sends runs under an authorizer that admits only the
actions its tool is for. ``read_query`` runs that way even when writes are allowed, so a crafted "SELECT" can
never write, and nothing can ATTACH another file (which is also how ``VACUUM INTO`` would write one).

The write tools are listed only when writes are allowed: a model offered a tool that always fails wastes
steps on it, and the person sees in the options page whether writes are on.
"""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import CallToolResult, TextContent, ToolAnnotations

_READ_ACTIONS = {
    sqlite3.SQLITE_SELECT,
    sqlite3.SQLITE_READ,
    sqlite3.SQLITE_FUNCTION,
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

Params = list[Any] | dict[str, Any] | None
Authorizer = Callable[[int, str | None, str | None, str | None, str | None], int]


class _Denied:
    """Collects what the authorizer refused, so the error can name it instead of SQLite's bare 'not authorized'."""

    def __init__(self) -> None:
        self.actions: list[str] = []

    def deny(self, action: int, detail: str | None) -> int:
        self.actions.append(_ACTION_NAMES.get(action, str(action)) + (f" {detail}" if detail else ""))
        return sqlite3.SQLITE_DENY


def _read_authorizer(denied: _Denied) -> Authorizer:
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
        if action in _READ_ACTIONS:
            return sqlite3.SQLITE_OK
        return denied.deny(action, arg1)

    return authorize


def _write_authorizer(denied: _Denied, *, allow_create: bool) -> Authorizer:
    def authorize(action: int, arg1: str | None, arg2: str | None, db: str | None, source: str | None) -> int:
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


def _json_value(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"base64": base64.b64encode(value).decode()}
    return value


def _table_text(columns: list[str], rows: list[dict[str, Any]], truncated: bool) -> str:
    if not rows:
        return "(no rows)"
    lines = [" | ".join(columns)]
    lines += [" | ".join("NULL" if row[c] is None else str(row[c]) for c in columns) for row in rows]
    footer = f"\n({len(rows)} rows{', truncated' if truncated else ''})"
    return "\n".join(lines) + footer


class SQLiteTools:
    def __init__(self, db: Path, *, allow_writes: bool, max_rows: int, query_log: Path | None = None) -> None:
        self.db = db
        self.allow_writes = allow_writes
        self.max_rows = max_rows
        self.query_log = query_log
        """Where every statement a caller asks to run is appended first: an audit trail of what was asked."""

    def _connect(self, *, read_only: bool) -> sqlite3.Connection:
        mode = "ro" if read_only or not self.allow_writes else "rw"
        connection = sqlite3.connect(f"{self.db.as_uri()}?mode={mode}", uri=True, isolation_level=None)
        if mode == "ro":
            connection.execute("PRAGMA query_only = ON")
        return connection

    def _run(
        self, sql: str, params: Params, *, read_only: bool, authorizer: Callable[[_Denied], Authorizer]
    ) -> sqlite3.Cursor:
        if self.query_log is not None:
            with self.query_log.open("a", encoding="utf-8") as log:
                log.write(json.dumps({"time": time.time(), "sql": sql}) + "\n")
        connection = self._connect(read_only=read_only)
        denied = _Denied()
        connection.set_authorizer(authorizer(denied))
        try:
            return connection.execute(sql, params if params is not None else ())
        except sqlite3.ProgrammingError as exc:
            connection.close()
            raise ToolError(
                f"{exc} (one statement per call; parameters must match the ? or :name marks)"
            ) from None
        except sqlite3.DatabaseError as exc:
            connection.close()
            if denied.actions:
                raise ToolError(f"not allowed here: {', '.join(denied.actions)}") from None
            raise ToolError(f"SQLite error: {exc}") from None

    def list_tables(self) -> CallToolResult:
        with self._connect(read_only=True) as connection:
            names = [
                r[0]
                for r in connection.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(names) or "(no tables)")],
            structured_content={"tables": names},
        )

    def describe_table(self, table: str) -> CallToolResult:
        with self._connect(read_only=True) as connection:
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
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines))],
            structured_content={
                "table": table,
                "columns": columns,
                "foreign_keys": foreign_keys,
                "row_count": row_count,
            },
        )

    def read_query(self, query: str, params: Params = None) -> CallToolResult:
        first_word = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
        if first_word not in ("SELECT", "WITH"):
            raise ToolError("read_query runs SELECT (or WITH … SELECT) statements only")
        cursor = self._run(query, params, read_only=True, authorizer=_read_authorizer)
        try:
            columns = [d[0] for d in cursor.description or []]
            fetched = cursor.fetchmany(self.max_rows + 1)
        finally:
            cursor.connection.close()
        truncated = len(fetched) > self.max_rows
        rows = [
            {c: _json_value(v) for c, v in zip(columns, row, strict=True)} for row in fetched[: self.max_rows]
        ]
        return CallToolResult(
            content=[TextContent(type="text", text=_table_text(columns, rows, truncated))],
            structured_content={
                "columns": columns,
                "rows": rows,
                "row_count": len(rows),
                "truncated": truncated,
            },
        )

    def write_query(self, query: str, params: Params = None) -> CallToolResult:
        first_word = query.lstrip().split(None, 1)[0].upper() if query.strip() else ""
        if first_word not in ("INSERT", "UPDATE", "DELETE", "REPLACE", "WITH"):
            raise ToolError("write_query runs INSERT, UPDATE, DELETE or REPLACE statements only")
        cursor = self._run(
            query, params, read_only=False, authorizer=lambda d: _write_authorizer(d, allow_create=False)
        )
        try:
            affected = cursor.rowcount
            last_id = cursor.lastrowid
        finally:
            cursor.connection.close()
        return CallToolResult(
            content=[TextContent(type="text", text=f"{affected} row(s) affected")],
            structured_content={"rows_affected": affected, "last_row_id": last_id},
        )

    def create_table(self, query: str) -> CallToolResult:
        if not query.lstrip().upper().startswith("CREATE TABLE"):
            raise ToolError("create_table runs CREATE TABLE statements only")
        cursor = self._run(
            query, None, read_only=False, authorizer=lambda d: _write_authorizer(d, allow_create=True)
        )
        cursor.connection.close()
        return CallToolResult(
            content=[TextContent(type="text", text="table created")], structured_content={"created": True}
        )


def build_server(
    db: Path, *, allow_writes: bool, max_rows: int = 1000, query_log: Path | None = None
) -> MCPServer:
    tools = SQLiteTools(db, allow_writes=allow_writes, max_rows=max_rows, query_log=query_log)
    server = MCPServer(
        "sqlite",
        version="1.0",
        instructions=(
            f"SQLite database {db.name}. Use list_tables and describe_table to learn the schema, then read_query."
            + ("" if allow_writes else " Writes are disabled for this database.")
        ),
    )
    read = ToolAnnotations(read_only_hint=True, open_world_hint=False)
    server.add_tool(
        tools.list_tables,
        name="list_tables",
        description="List the tables in the database.",
        annotations=read,
    )
    server.add_tool(
        tools.describe_table,
        name="describe_table",
        description="Columns (type, nullability, primary key), foreign keys and row count of one table.",
        annotations=read,
    )
    server.add_tool(
        tools.read_query,
        name="read_query",
        description=(
            "Run one SELECT (or WITH … SELECT) statement. Pass values as params: a list for ? marks or an object "
            f"for :name marks. At most {max_rows} rows come back; 'truncated' says when there were more."
        ),
        annotations=read,
    )
    if allow_writes:
        write = ToolAnnotations(read_only_hint=False, destructive_hint=True, open_world_hint=False)
        server.add_tool(
            tools.write_query,
            name="write_query",
            description="Run one INSERT, UPDATE, DELETE or REPLACE statement, with params as for read_query.",
            annotations=write,
        )
        server.add_tool(
            tools.create_table,
            name="create_table",
            description="Run one CREATE TABLE statement.",
            annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, open_world_hint=False),
        )
    return server
