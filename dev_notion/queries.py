"""Data sources as SQLite tables, the way notion-query-data-sources shows them, and the three ways to query them.

Each data source is a table named by its URL (``"collection://<uuid>"``) with ``url`` and ``createdTime`` first, then a
column per property: text-like, select and status values as TEXT, numbers as REAL, checkboxes as ``"__YES__"`` or
``"__NO__"``, a date as three columns ``"date:<name>:start"``, ``":end"`` and ``":is_datetime"``, and lists (multi-select,
people as ``user://`` URLs, relations as page URLs) as JSON arrays in TEXT. A property named ``id`` or ``url`` is the
column ``"userDefined:<name>"``.

SQL runs in a fresh in-memory SQLite holding only the data sources the call names, with ``query_only`` on, so a
query can read exactly what the hosted server would let it read and change nothing. Rows mode and view mode compile
their structured filters to the same SQL.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
from typing import TYPE_CHECKING, Any

from dev_notion.model import DataSource, NotionError, Page, Property, invalid, iso, page_url, user_url

if TYPE_CHECKING:
    from dev_notion.workspace import Workspace

MAX_ROWS = 100

SQL_TYPES = {"number": "REAL", "date": "", "place": ""}
COMMENTS = {
    "title": "the page's title",
    "checkbox": '"__YES__" or "__NO__"',
    "multi_select": "a JSON array of option names",
    "people": "a JSON array of user:// URLs",
    "relation": "a JSON array of page URLs",
    "files": "a JSON array of file references",
    "created_by": "a user:// URL",
    "last_edited_by": "a user:// URL",
}


def column_name(prop: Property) -> str:
    return f"userDefined:{prop.name}" if prop.name.lower() in ("id", "url") else prop.name


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def columns(source: DataSource) -> list[tuple[str, str, str]]:
    """(column, SQLite type, comment) of a data source's table, in order."""
    found = [
        ("url", "TEXT UNIQUE", ""),
        (
            "createdTime",
            "TEXT",
            "ISO-8601 datetime string, automatically set. This is the canonical time for when the page was created.",
        ),
    ]
    for prop in source.properties.values():
        name = column_name(prop)
        if prop.type == "date":
            found += [
                (f"date:{name}:start", "TEXT", "ISO-8601 date or datetime"),
                (f"date:{name}:end", "TEXT", "ISO-8601 date or datetime; empty for a single date"),
                (f"date:{name}:is_datetime", "INTEGER", "1 when the date has a time of day"),
            ]
        elif prop.type == "place":
            found += [
                (f"place:{name}:{part}", "REAL" if part in ("latitude", "longitude") else "TEXT", "")
                for part in ("name", "address", "latitude", "longitude", "google_place_id")
            ]
        else:
            comment = COMMENTS.get(prop.type, "")
            if prop.type in ("select", "status") and prop.options:
                comment = "one of " + ", ".join(json.dumps(o) for o in prop.option_names())
            found.append((name, SQL_TYPES.get(prop.type, "TEXT"), comment))
    return found


def table_definition(source: DataSource) -> str:
    found = columns(source)
    lines = []
    for i, (name, kind, comment) in enumerate(found):
        column = name if name in ("url", "createdTime") else quoted(name)
        comma = "," if i < len(found) - 1 else ""
        lines.append(f"\t{column} {kind}{comma}" + (f" -- {comment}" if comment else ""))
    return f"CREATE TABLE IF NOT EXISTS {quoted(source.url)} (\n" + "\n".join(lines) + "\n)"


def cells(workspace: Workspace, source: DataSource, page: Page, row_number: int) -> dict[str, Any]:
    """A row's values by column, as SQL sees them."""
    row: dict[str, Any] = {"url": page.url, "createdTime": iso(page.created_time)}
    for prop in source.properties.values():
        name = column_name(prop)
        value: Any = page.title if prop.type == "title" else page.values.get(prop.name)
        if prop.type == "date":
            row[f"date:{name}:start"] = value["start"] if value else None
            row[f"date:{name}:end"] = value.get("end") if value else None
            row[f"date:{name}:is_datetime"] = (1 if value.get("is_datetime") else 0) if value else None
        elif prop.type == "place":
            for part in ("name", "address", "latitude", "longitude", "google_place_id"):
                row[f"place:{name}:{part}"] = (value or {}).get(part)
        else:
            row[name] = sql_value(prop, value, page, row_number)
    return row


def sql_value(prop: Property, value: Any, page: Page, row_number: int) -> Any:
    kind = prop.type
    if kind == "checkbox":
        return "__YES__" if value else "__NO__"
    if kind == "people":
        return json.dumps([user_url(u) for u in value]) if value else None
    if kind == "relation":
        return json.dumps([page_url(p) for p in value]) if value else None
    if kind in ("multi_select", "files"):
        return json.dumps(list(value), ensure_ascii=False) if value else None
    if kind == "created_time":
        return iso(page.created_time)
    if kind == "last_edited_time":
        return iso(page.last_edited_time)
    if kind == "created_by":
        return user_url(page.created_by) if page.created_by else None
    if kind == "last_edited_by":
        return user_url(page.last_edited_by) if page.last_edited_by else None
    if kind == "unique_id":
        return f"{prop.prefix}-{row_number}" if prop.prefix else row_number
    if kind in ("formula", "rollup"):
        return None  # the double does not evaluate them (docs/notion-compat.md)
    return value


def _load(workspace: Workspace, sources: list[DataSource]) -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    for source in sources:
        db.execute(table_definition(source))
        cols = [name for name, _, _ in columns(source)]
        placeholders = ", ".join("?" for _ in cols)
        rows = workspace.rows(source)
        db.executemany(
            f"INSERT INTO {quoted(source.url)} ({', '.join(quoted(c) for c in cols)}) VALUES ({placeholders})",
            [
                [cells(workspace, source, page, n).get(c) for c in cols]
                for n, page in enumerate(sorted(rows, key=lambda p: p.created_time), start=1)
            ],
        )
    db.execute("PRAGMA query_only = ON")
    return db


_COMMENT = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


def run_sql(
    workspace: Workspace, urls: list[str], query: str, params: list[Any] | None = None
) -> dict[str, Any]:
    if not urls:
        raise invalid("data_source_urls must name at least one data source")
    sources = [workspace.data_source_by_url(url) for url in urls]
    first_word = (_COMMENT.sub(" ", query).strip().split(None, 1) or [""])[0].upper()
    if first_word not in ("SELECT", "WITH"):
        raise invalid("Only read-only queries are allowed: start with SELECT or WITH")
    db = _load(workspace, sources)
    try:
        cursor = db.execute(query, [_param(p) for p in params or []])
        names = [d[0] for d in cursor.description or []]
        fetched = cursor.fetchmany(MAX_ROWS + 1)
    except (sqlite3.Error, ValueError) as exc:
        raise invalid(f"SQL error: {exc}") from None
    finally:
        db.close()
    return {"results": [dict(zip(names, row, strict=True)) for row in fetched[:MAX_ROWS]],
            "has_more": len(fetched) > MAX_ROWS}  # fmt: skip


def _param(value: Any) -> Any:
    if isinstance(value, bool):
        return "__YES__" if value else "__NO__"
    return value


# --- structured filters: rows mode and saved views --------------------------------------------------------


class _Compiler:
    def __init__(self, source: DataSource, today: dt.date) -> None:
        self.source = source
        self.today = today
        self.params: list[Any] = []

    def group(self, group: dict[str, Any], depth: int = 0) -> str:
        if group.get("type") != "group" or group.get("operator") not in ("and", "or"):
            raise invalid('a filter group needs type "group" and operator "and" or "or"')
        if depth > 1:
            raise invalid("filters nest at most one group deep")
        parts = [
            self.group(f, depth + 1) if f.get("type") == "group" else self.condition(f)
            for f in group.get("filters") or []
        ]
        if not parts:
            return "1"
        return "(" + f" {group['operator'].upper()} ".join(parts) + ")"

    def prop(self, name: str) -> Property:
        prop = self.source.properties.get(name)
        if prop is None:
            raise invalid(
                f'Property "{name}" is not in the data source "{self.source.name}"; its properties are: '
                + ", ".join(self.source.properties)
            )
        return prop

    def condition(self, f: dict[str, Any]) -> str:
        prop = self.prop(str(f.get("property")))
        column = quoted(f"date:{column_name(prop)}:{'end' if f.get('use_end') else 'start'}") if prop.type == "date" \
            else quoted(column_name(prop))  # fmt: skip
        operator = str(f.get("operator"))
        value = f.get("value")
        if operator in ("is_empty", "is_not_empty"):
            empty = f"({column} IS NULL OR {column} = '' OR {column} = '[]')"
            return empty if operator == "is_empty" else f"NOT {empty}"
        literal = self.literal(value, operator, prop)
        if operator.startswith("string_"):
            like = {"string_contains": "%{}%", "string_does_not_contain": "%{}%",
                    "string_starts_with": "{}%", "string_ends_with": "%{}"}  # fmt: skip
            if operator in ("string_is", "string_is_not"):
                self.params.append(literal)
                return f"{column} {'=' if operator == 'string_is' else '!='} ?"
            if operator in like:
                self.params.append(like[operator].format(_escape_like(str(literal))))
                negate = "NOT " if operator == "string_does_not_contain" else ""
                return f"COALESCE({column}, '') {negate}LIKE ? ESCAPE '\\'"
        if operator.startswith("number_"):
            sign = {"number_equals": "=", "number_does_not_equal": "!=", "number_greater_than": ">",
                    "number_less_than": "<", "number_greater_than_or_equal_to": ">=",
                    "number_less_than_or_equal_to": "<="}.get(operator)  # fmt: skip
            if sign:
                self.params.append(literal)
                return f"{column} {sign} ?"
        if operator.startswith("date_is") and operator not in ("date_is_within", "date_is_relative_to"):
            sign = {"date_is": "=", "date_is_before": "<", "date_is_after": ">",
                    "date_is_on_or_before": "<=", "date_is_on_or_after": ">="}[operator]  # fmt: skip
            self.params.append(literal)
            return f"date({column}) {sign} ?"
        if operator == "date_is_within":
            start, end = literal
            self.params += [start, end]
            return f"date({column}) BETWEEN ? AND ?"
        if operator in ("enum_is", "enum_is_not", "status_is", "status_is_not"):
            names = literal if isinstance(literal, list) else [literal]
            self.params += names
            marks = ", ".join("?" for _ in names)
            return f"{column} {'NOT IN' if operator.endswith('_not') else 'IN'} ({marks})"
        if operator in ("enum_contains", "enum_does_not_contain", "person_contains", "person_does_not_contain",
                        "relation_contains", "relation_does_not_contain"):  # fmt: skip
            names = literal if isinstance(literal, list) else [literal]
            parts = []
            for name in names:
                self.params.append(f"%{_escape_like(json.dumps(name, ensure_ascii=False))}%")
                parts.append(f"COALESCE({column}, '') LIKE ? ESCAPE '\\'")
            joined = "(" + " OR ".join(parts) + ")"
            return f"NOT {joined}" if "does_not" in operator else joined
        if operator in ("checkbox_is", "checkbox_is_not"):
            checked = bool(literal) if not isinstance(literal, str) else literal in ("__YES__", "true")
            if operator == "checkbox_is_not":
                checked = not checked
            self.params.append("__YES__" if checked else "__NO__")
            return f"{column} = ?"
        raise invalid(f"the operator {operator!r} does not apply to {prop.name!r} ({prop.type}) here")

    def literal(self, value: Any, operator: str, prop: Property) -> Any:
        """The plain value of ``{type: exact|relative|is_option, value}`` (or a list of them)."""
        if isinstance(value, list):
            return [self.literal(v, operator, prop) for v in value]
        if not isinstance(value, dict) or "type" not in value:
            raise invalid(f'the filter on {prop.name!r} needs a value like {{"type": "exact", "value": ...}}')
        kind, inner = value["type"], value.get("value")
        if kind == "relative":
            if prop.type in ("people", "created_by", "last_edited_by") and inner == "me":
                return "me"
            return self.relative(inner, value)
        if isinstance(inner, dict) and inner.get("type") == "daterange":
            return (inner.get("start_date") or "0000-01-01", inner.get("end_date") or "9999-12-31")
        if isinstance(inner, dict) and "id" in inner:  # a person: {table, id}
            return user_url(str(inner["id"]).removeprefix("user://"))
        return inner

    def relative(self, name: Any, value: dict[str, Any]) -> Any:
        days = {"today": 0, "tomorrow": 1, "yesterday": -1, "one_week_ago": -7, "one_week_from_now": 7,
                "one_month_ago": -30, "one_month_from_now": 30}  # fmt: skip
        if name in days:
            return (self.today + dt.timedelta(days=days[name])).isoformat()
        spans = {"the_past_week": (-7, 0), "the_past_month": (-30, 0), "the_past_year": (-365, 0),
                 "the_next_week": (0, 7), "the_next_month": (0, 30), "the_next_year": (0, 365)}  # fmt: skip
        if name == "this_week":
            start = self.today - dt.timedelta(days=self.today.weekday())
            return (start.isoformat(), (start + dt.timedelta(days=6)).isoformat())
        if name == "custom":
            unit = {"day": 1, "week": 7, "month": 30, "year": 365}[value.get("unit", "day")]
            length = int(value.get("count", 1)) * unit
            spans["custom"] = (-length, 0) if value.get("direction") == "past" else (0, length)
        if name in spans:
            low, high = spans[name]
            return (
                (self.today + dt.timedelta(days=low)).isoformat(),
                (self.today + dt.timedelta(days=high)).isoformat(),
            )
        raise invalid(f"the relative date {name!r} is not known")


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def structured(
    workspace: Workspace,
    source: DataSource,
    filter: dict[str, Any] | None,
    sorts: list[dict[str, str]],
    limit: int,
    offset: int = 0,
    me: str | None = None,
) -> tuple[list[dict[str, Any]], bool]:
    """Rows of ``source`` matching a structured filter, sorted; as (rows with their properties, has_more)."""
    compiler = _Compiler(source, dt.date.today())
    where = compiler.group(filter) if filter else "1"
    params = [user_url(me) if p == "me" and me else p for p in compiler.params]
    order = []
    for sort in sorts:
        prop = compiler.prop(sort["property"])
        name = f"date:{column_name(prop)}:start" if prop.type == "date" else column_name(prop)
        order.append(f"{quoted(name)} {'DESC' if sort['direction'] == 'descending' else 'ASC'}")
    order.append("createdTime ASC")
    sql = (
        f"SELECT url FROM {quoted(source.url)} WHERE {where} ORDER BY {', '.join(order)} "
        f"LIMIT {limit + 1} OFFSET {offset}"
    )
    db = _load(workspace, [source])
    try:
        urls = [row[0] for row in db.execute(sql, params)]
    except sqlite3.Error as exc:
        raise invalid(f"the filter could not be applied: {exc}") from None
    finally:
        db.close()
    pages = [workspace.page(url) for url in urls[:limit]]
    return [{**workspace.property_values(page), "url": page.url} for page in pages], len(urls) > limit


def ensure_known_url(url: str) -> str:
    if not url.startswith("collection://"):
        raise NotionError(
            "validation_error", f"{url!r} is not a data source URL; use the collection:// URL from fetch"
        )
    return url
