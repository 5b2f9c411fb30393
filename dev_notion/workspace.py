"""An in-memory Notion workspace: looking things up by any of the ways Notion names them, rendering them as the
hosted server's tools answer, searching, and changing them with Notion's rules.

Seeded with sample content (dev_notion.seed) so the demo and the tests have something to search, query and
change; deterministic, so tests can name ids and counts.
"""

from __future__ import annotations

import html
import json
import random
import re
import time
import uuid
from typing import Any

from dev_notion.model import (
    LIST_TYPES,
    READ_ONLY_TYPES,
    Database,
    DataSource,
    Discussion,
    NotionError,
    Page,
    Property,
    Team,
    User,
    View,
    icon_object,
    invalid,
    iso,
    not_found,
    page_url,
    user_url,
)

_HEX = re.compile(r"([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})")
_CHILD_TAG = re.compile(r'<(page|database) url="\{\{([^}"]+)\}\}">([^<]*)</\1>')
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def plain_id(text: str) -> str | None:
    """The UUID in an id or address (dashed or not), or None."""
    found = _HEX.findall(text)
    if not found:
        return None
    return str(uuid.UUID(found[-1].replace("-", "")))


class Workspace:
    def __init__(self, name: str = "Acme Corp", icon: str | None = "🏢", seed: int = 7) -> None:
        self.name = name
        self.icon = icon
        # Seeded by name too: two servers for two workspaces have different ids, as two real workspaces do.
        self._rng = random.Random(f"{seed}:{name}")
        self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"dev-notion-workspace:{name}"))
        self.users: dict[str, User] = {}
        self.teams: dict[str, Team] = {}
        self.pages: dict[str, Page] = {}
        self.databases: dict[str, Database] = {}
        self.data_sources: dict[str, DataSource] = {}
        self.views: dict[str, View] = {}
        self.discussions: list[Discussion] = []
        self.self_id = ""
        from dev_notion.seed import seed as fill

        fill(self)

    def new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # --- lookup ---------------------------------------------------------------------------------------

    def page(self, ident: str) -> Page:
        key = plain_id(ident)
        page = self.pages.get(key or "")
        if page is None or page.in_trash:
            raise not_found("page", ident)
        return page

    def database(self, ident: str) -> Database:
        key = plain_id(ident)
        database = self.databases.get(key or "")
        if database is None or database.in_trash:
            raise not_found("database", ident)
        return database

    def data_source(self, ident: str) -> DataSource:
        key = plain_id(ident)
        source = self.data_sources.get(key or "")
        if source is None or source.in_trash or self.databases[source.database_id].in_trash:
            raise not_found("data source", ident)
        return source

    def data_source_by_url(self, url: str) -> DataSource:
        if not isinstance(url, str) or not url.startswith("collection://"):
            raise invalid(f"{url!r} is not a data source URL; use the collection:// URL from fetch")
        return self.data_source(url)

    def view(self, ident: str) -> View:
        key = plain_id(ident.split("v=")[-1]) if "v=" in ident else plain_id(ident)
        found = self.views.get(key or "")
        if found is None:
            raise not_found("view", ident)
        return found

    def user(self, ident: str) -> User:
        key = "self" if ident == "self" else plain_id(ident)
        found = self.users.get(self.self_id if key == "self" else key or "")
        if found is None:
            raise not_found("user", ident)
        return found

    def rows(self, source: DataSource) -> list[Page]:
        return [p for p in self.pages.values() if p.parent == ("data_source", source.id) and not p.in_trash]

    def data_source_of(self, page: Page) -> DataSource | None:
        return (
            self.data_sources[page.parent[1]] if page.parent[0] == "data_source" and page.parent[1] else None
        )

    def resolve(self, ident: str) -> tuple[str, Any]:
        """What an id or address names: ("page"|"database"|"data_source"|"view", the object)."""
        text = ident.strip()
        if text.startswith("collection://"):
            return "data_source", self.data_source(text)
        if text.startswith("view://") or ("?v=" in text or "&v=" in text):
            return "view", self.view(text)
        key = plain_id(text)
        if key is None:
            raise invalid(f"{ident!r} is not a Notion URL or ID")
        if key in self.pages and not self.pages[key].in_trash:
            return "page", self.pages[key]
        if key in self.databases and not self.databases[key].in_trash:
            return "database", self.databases[key]
        if key in self.data_sources:
            return "data_source", self.data_source(key)
        if key in self.views:
            return "view", self.views[key]
        raise not_found("object", ident)

    # --- reading: the answers fetch gives -------------------------------------------------------------

    def ancestors(self, parent: tuple[str, str | None]) -> list[tuple[str, str, str]]:
        """(kind, url, title or name), nearest first, up to the workspace."""
        found: list[tuple[str, str, str]] = []
        kind, ident = parent
        while ident is not None and len(found) < 20:
            if kind == "page":
                page = self.pages[ident]
                found.append(("page", page.url, page.title))
                kind, ident = page.parent
            elif kind == "data_source":
                source = self.data_sources[ident]
                found.append(("data-source", source.url, source.name))
                kind, ident = "database", source.database_id
            elif kind == "database":
                database = self.databases[ident]
                found.append(("database", database.url, database.title))
                kind, ident = database.parent
            else:
                break
        return found

    def _ancestor_path(self, parent: tuple[str, str | None]) -> str:
        lines = []
        for n, (kind, url, title) in enumerate(self.ancestors(parent)):
            tag = f"parent-{kind}" if n == 0 else f"ancestor-{n + 1}-{kind}"
            attribute = "name" if kind == "data-source" else "title"
            lines.append(f'<{tag} url="{url}" {attribute}="{html.escape(title)}"/>')
        return "<ancestor-path>\n" + "\n".join(lines) + "\n</ancestor-path>" if lines else ""

    def _path(self, parent: tuple[str, str | None]) -> str:
        titles = [title for kind, _, title in self.ancestors(parent) if kind != "data-source"]
        return " / ".join(reversed(titles))

    def property_values(self, page: Page) -> dict[str, Any]:
        """A page's properties as fetch writes them: SQLite-like values, dates and places expanded."""
        source = self.data_source_of(page)
        if source is None:
            return {"title": page.title}
        values: dict[str, Any] = {}
        for prop in source.properties.values():
            name = f"userDefined:{prop.name}" if prop.name.lower() in ("id", "url") else prop.name
            value: Any = page.title if prop.type == "title" else page.values.get(prop.name)
            if prop.type == "date":
                if value:
                    values[f"date:{name}:start"] = value["start"]
                    if value.get("end"):
                        values[f"date:{name}:end"] = value["end"]
                    values[f"date:{name}:is_datetime"] = 1 if value.get("is_datetime") else 0
            elif prop.type == "checkbox":
                values[name] = "__YES__" if value else "__NO__"
            elif prop.type == "people":
                values[name] = [user_url(u) for u in value or []]
            elif prop.type == "relation":
                values[name] = [page_url(p) for p in value or []]
            elif prop.type in ("multi_select", "files"):
                values[name] = list(value or [])
            elif prop.type not in READ_ONLY_TYPES:
                values[name] = value
        return values

    def content_with_titles(self, page: Page) -> str:
        """The page's content, its child-page and database tags naming their current titles."""

        def current(match: re.Match[str]) -> str:
            kind, url, title = match.groups()
            key = plain_id(url) or ""
            found = self.pages.get(key) if kind == "page" else self.databases.get(key)
            if found is not None:
                title = html.escape(found.title)
            return f'<{kind} url="{{{{{url}}}}}">{title}</{kind}>'

        return _CHILD_TAG.sub(current, page.content)

    def render_page(self, page: Page, include_discussions: bool = False) -> dict[str, Any]:
        now = iso(time.time())
        parts = [
            f'Here is the result of "view" for the Page with URL {page.url} as of {now}:',
            f'<page url="{{{{{page.url}}}}}">',
        ]
        ancestry = self._ancestor_path(page.parent)
        if ancestry:
            parts.append(ancestry)
        parts.append(
            "<properties>\n"
            + json.dumps(self.property_values(page), ensure_ascii=False, separators=(",", ":"))
            + "\n</properties>"
        )
        content = self.content_with_titles(page)
        if include_discussions:
            open_ones = [d for d in self.discussions if d.page_id == page.id and not d.resolved]
            if open_ones:
                summary = "\n".join(
                    f'<discussion url="{d.url}" comments="{len(d.comments)}">'
                    f"{html.escape(d.comments[0].markdown[:80])}</discussion>"
                    for d in open_ones
                )
                parts.append(f'<page-discussions count="{len(open_ones)}">\n{summary}\n</page-discussions>')
        parts.append("<content>\n" + content + "\n</content>")
        parts.append("</page>")
        entity: dict[str, Any] = {
            "metadata": {"type": "page"},
            "title": page.title,
            "url": page.url,
            "path": self._path(page.parent),
            "icon": icon_object(page.icon),
            "cover": {"type": "external", "external": {"url": page.cover}} if page.cover else None,
            "page_last_edited_at": iso(page.last_edited_time),
            "text": "\n".join(parts),
        }
        if page.verification:
            entity["verification"] = page.verification
        return entity

    def _data_source_block(self, source: DataSource) -> str:
        state = {
            "name": source.name,
            "schema": {name: prop.state() for name, prop in source.properties.items()},
            "url": source.url,
        }
        if source.description:
            state["description"] = source.description
        from dev_notion.queries import table_definition

        return "\n".join(
            [
                f'<data-source url="{{{{{source.url}}}}}">',
                f"The title of this Data Source is: {source.name}",
                "",
                "Here is the database's configurable state:",
                "Properties with `readOnly: true` are synced or system-managed. Do not try to update their values "
                "with page update tools.",
                "<data-source-state>",
                json.dumps(state, ensure_ascii=False, separators=(",", ":")),
                "</data-source-state>",
                "",
                "Here is the SQLite table definition for this data source.",
                "<sqlite-table>",
                table_definition(source),
                "</sqlite-table>",
                "</data-source>",
            ]
        )

    def _view_json(self, view: View) -> str:
        source = self.data_sources[view.data_source_id]
        shown: dict[str, Any] = {
            "dataSourceUrl": f"{{{{{source.url}}}}}",
            "displayProperties": list(source.properties),
            "name": view.name,
            "type": view.type,
        }
        if view.filter:
            shown["filter"] = view.filter
        if view.sorts:
            shown["sorts"] = view.sorts
        return json.dumps(shown, ensure_ascii=False, separators=(",", ":"))

    def render_database(self, database: Database, heading: str = "") -> dict[str, Any]:
        sources = [
            self.data_sources[i] for i in database.data_source_ids if not self.data_sources[i].in_trash
        ]
        lines = [heading] if heading else []
        lines += [
            f'<database url="{{{{{database.url}}}}}" inline="{"true" if database.inline else "false"}">',
            f"The title of this Database is: {database.title}",
        ]
        ancestry = self._ancestor_path(database.parent)
        if ancestry:
            lines.append(ancestry)
        if database.description:
            lines.append(f"Description: {database.description}")
        lines += [
            "Here are the Database's Data Sources:",
            'You can use the "fetch" tool on the URL of any Data Source to see its full schema configuration.',
            "<data-sources>",
            *[self._data_source_block(s) for s in sources],
            "</data-sources>",
            "Here are the Database's Views:",
            'You can use the "fetch" tool on the URL of any View to see its full configuration.',
            "<views>",
            *[
                f'<view url="{{{{view://{v}}}}}">\n{self._view_json(self.views[v])}\n</view>'
                for v in database.view_ids
            ],
            "</views>",
            "</database>",
        ]
        return {
            "metadata": {"type": "database"},
            "title": database.title,
            "url": database.url,
            "icon": icon_object(database.icon),
            "text": "\n".join(lines),
        }

    def render_data_source(self, source: DataSource) -> dict[str, Any]:
        database = self.databases[source.database_id]
        return {
            "metadata": {"type": "data_source"},
            "title": source.name,
            "url": database.url,
            "text": self._data_source_block(source),
        }

    def render_view(self, view: View) -> dict[str, Any]:
        return {
            "metadata": {"type": "view"},
            "title": view.name,
            "url": f"view://{view.id}",
            "text": f'<view url="{{{{view://{view.id}}}}}">\n{self._view_json(view)}\n</view>',
        }

    # --- search ---------------------------------------------------------------------------------------

    def team_of(self, item: Page | Database) -> str | None:
        """The teamspace an item lives in: its own, or that of the nearest page above it that has one."""
        if isinstance(item, Page) and item.team_id:
            return item.team_id
        for kind, url, _ in self.ancestors(item.parent):
            above = self.pages.get(plain_id(url) or "") if kind == "page" else None
            if above is not None and above.team_id:
                return above.team_id
        return None

    def descends_from(self, parent: tuple[str, str | None], ancestor_id: str) -> bool:
        return any(plain_id(url) == ancestor_id for _, url, _ in self.ancestors(parent) if plain_id(url))

    def everything(self) -> list[Page | Database]:
        found: list[Page | Database] = [p for p in self.pages.values() if not p.in_trash]
        found += [d for d in self.databases.values() if not d.in_trash]
        return found

    def searchable_text(self, item: Page | Database) -> str:
        if isinstance(item, Database):
            return item.title
        values = " ".join(
            str(v) for v in self.property_values(item).values() if isinstance(v, str | int | float)
        )
        return f"{item.title}\n{values}\n{_CHILD_TAG.sub('', item.content)}"


def timestamp_words(moment: float) -> str:
    days = int((time.time() - moment) // 86400)
    when = "today" if days <= 0 else ("yesterday" if days == 1 else f"{days} days ago")
    return f"{when} ({time.strftime('%Y-%m-%d', time.gmtime(moment))})"


def check_date(text: Any, where: str) -> str:
    if not isinstance(text, str) or not _DATE.match(text):
        raise invalid(f"{where} must be an ISO 8601 date (YYYY-MM-DD) or date-time; got {text!r}")
    return text


def list_value(value: Any, where: str) -> list[str]:
    """A list property's value as sent: an array of strings, a JSON array in a string, or one string."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                loaded = json.loads(text)
            except ValueError:
                raise invalid(f"{where} holds {text!r}, which is not a JSON array") from None
            if not isinstance(loaded, list):
                raise invalid(f"{where} must be a JSON array of strings")
            return [str(v) for v in loaded]
        return [text] if text else []
    raise invalid(f"{where} must be a string or an array of strings; got {value!r}")


def set_property(workspace: Workspace, source: DataSource, page: Page, key: str, value: Any) -> None:
    """Apply one entry of a ``properties`` map to a row, with Notion's rules for its type."""
    date_part = re.match(r"^date:(.+):(start|end|is_datetime)$", key)
    place_part = re.match(r"^place:(.+):(name|address|latitude|longitude|google_place_id)$", key)
    name = (date_part or place_part).group(1) if (date_part or place_part) else key  # type: ignore[union-attr]
    name = name.removeprefix("userDefined:")
    prop = source.properties.get(name)
    if prop is None:
        raise invalid(
            f'Property "{key}" is not in the data source "{source.name}"; its properties are: '
            + ", ".join(source.properties)
        )
    if prop.type in READ_ONLY_TYPES:
        raise invalid(f'"{prop.name}" is a {prop.type} property; its value cannot be set')
    if date_part and prop.type != "date":
        raise invalid(f'"{prop.name}" is a {prop.type} property, not a date')
    if prop.type == "date" and not date_part:
        raise invalid(
            f'"{prop.name}" is a date property: set "date:{prop.name}:start" (and optionally '
            f'"date:{prop.name}:end" and "date:{prop.name}:is_datetime")'
        )
    if prop.type == "place":
        if not place_part:
            raise invalid(
                f'"{prop.name}" is a place property: set "place:{prop.name}:name" and its other parts'
            )
        current = dict(page.values.get(prop.name) or {})
        current[place_part.group(2)] = value
        page.values[prop.name] = current
        return
    where = f'"{key}"'
    if date_part:
        current = dict(page.values.get(prop.name) or {})
        part = date_part.group(2)
        if value is None:
            current.pop(part, None)
        elif part == "is_datetime":
            if value not in (0, 1):
                raise invalid(f"{where} must be 0 or 1; got {value!r}")
            current[part] = bool(value)
        else:
            current[part] = check_date(value, where)
        page.values[prop.name] = current if current.get("start") else None
        return
    if value is None:
        if prop.type == "title":
            page.title = ""
        else:
            page.values.pop(prop.name, None)
        return
    kind = prop.type
    if kind == "title":
        page.title = _inline(value, where)
    elif kind in ("rich_text", "url", "email", "phone_number"):
        page.values[prop.name] = _inline(value, where)
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise invalid(f"{where} is a number property: send a number, not {value!r}")
        page.values[prop.name] = value
    elif kind == "checkbox":
        if value not in ("__YES__", "__NO__"):
            raise invalid(
                f'{where} is a checkbox: use "__YES__" for checked and "__NO__" for unchecked; got {value!r}'
            )
        page.values[prop.name] = value == "__YES__"
    elif kind == "select":
        text = _inline(value, where)
        if text and text not in prop.option_names():
            prop.options.append({"name": text, "color": "default"})  # Notion adds new select options
        page.values[prop.name] = text or None
    elif kind == "status":
        text = _inline(value, where)
        if text not in prop.option_names():
            raise invalid(
                f"{where} must be one of the status options {', '.join(prop.option_names())}; got {text!r}"
            )
        page.values[prop.name] = text
    elif kind == "multi_select":
        names = list_value(value, where)
        for option in names:
            if option not in prop.option_names():
                prop.options.append({"name": option, "color": "default"})
        page.values[prop.name] = names
    elif kind == "people":
        people = []
        for ref in list_value(value, where):
            if not ref.startswith("user://"):
                raise invalid(f"{where} takes user URLs (user://<id>); got {ref!r}")
            people.append(workspace.user(ref).id)
        page.values[prop.name] = people
    elif kind == "relation":
        page.values[prop.name] = [workspace.page(ref).id for ref in list_value(value, where)]
    elif kind in LIST_TYPES:
        page.values[prop.name] = list_value(value, where)
    else:
        page.values[prop.name] = value


def _inline(value: Any, where: str) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise invalid(f"{where} takes text; got {value!r}")
    return str(value)


def child_tag(kind: str, url: str, title: str) -> str:
    return f'<{kind} url="{{{{{url}}}}}">{html.escape(title)}</{kind}>'


def children_in(content: str) -> set[str]:
    return {plain_id(url) or "" for _, url, _ in _CHILD_TAG.findall(content)} - {""}


def new_property(name: str, kind: str, **fields: Any) -> Property:
    if kind in ("select", "multi_select", "status") and "options" in fields:
        fields["options"] = [
            o if isinstance(o, dict) else {"name": o, "color": "default"} for o in fields["options"]
        ]
    return Property(name, kind, **fields)


__all__ = ["NotionError", "Workspace"]
