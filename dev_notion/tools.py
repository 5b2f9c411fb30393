"""What each of Notion's tools does, in the double: arguments already checked against the tool's inputSchema
(dev_notion.server does that), Notion's own rules checked here. Each handler answers what the hosted server's
tool puts in its text block: JSON for most, Notion's Markdown-like tags for databases and data sources.
Refusals raise ``NotionError``, answered as ``{"code", "message"}``.
"""

from __future__ import annotations

import copy
import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dev_notion import ddl, queries
from dev_notion.model import (
    Comment,
    Database,
    DataSource,
    Discussion,
    NotionError,
    Page,
    Property,
    View,
    invalid,
    iso,
    not_found,
    user_url,
)
from dev_notion.workspace import (
    Workspace,
    child_tag,
    children_in,
    plain_id,
    set_property,
    timestamp_words,
)

ACCESS_LEVELS = ("available", "available_with_limit", "plan_required", "off")


@dataclass
class Access:
    """What the workspace's plan allows (the ``tool-access`` admin knob), as ``fetch self`` reports it.

    ``query_data_sources``: ``available`` (SQL over any number of data sources, Business with Notion AI),
    ``available_with_limit`` (SQL over one data source at a time, ``sql_calls_left`` more calls),
    ``plan_required`` (the tool is listed, SQL and rows mode are refused; view mode works), or ``off`` (the tool is
    not offered at all)."""

    query_data_sources: str = "available"
    sql_calls_left: int = 1000

    def status(self) -> dict[str, Any]:
        upgrade = {"upgrade_url": "https://www.notion.so/pricing"}
        query = {
            "available": {"status": "available"},
            "available_with_limit": {"status": "available_with_limit", **upgrade},
            "plan_required": {"status": "plan_required", **upgrade},
            "off": {"status": "not_enabled"},
        }[self.query_data_sources]
        everyday = {"status": "available"}
        tools = {name: dict(everyday) for name in (
            "search", "fetch", "create_pages", "update_page", "move_pages", "duplicate_page", "create_database",
            "update_data_source", "create_comment", "get_comments", "get_teams", "get_users")}  # fmt: skip
        tools["query_data_sources"] = query
        tools["query_multiple_data_sources"] = (
            {"status": "available"}
            if self.query_data_sources == "available"
            else {"status": "plan_required", **upgrade}
        )
        return tools


@dataclass
class Call:
    workspace: Workspace
    access: Access
    docs: dict[str, str] = field(default_factory=dict)

    @property
    def me(self) -> str:
        return self.workspace.self_id


Handler = Callable[[Call, dict[str, Any]], Any]
HANDLERS: dict[str, Handler] = {}


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        HANDLERS[name] = fn
        return fn

    return register


# --- search -------------------------------------------------------------------------------------------------


@handles("notion-search")
def search(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    query = str(args["query"]).strip()
    words = [w for w in re.split(r"\s+", query.lower()) if w]
    size = int(args.get("page_size", 10))
    if args.get("query_type") == "user":
        if not words:
            raise invalid("a user search needs a name or an email address")
        users = [u for u in ws.users.values() if any(w in f"{u.name} {u.email or ''}".lower() for w in words)]
        return {"results": [{"type": "user", "id": u.id, "url": user_url(u.id), "title": u.name, "email": u.email}
                            for u in users[:size]], "type": "user_search"}  # fmt: skip
    filters = args.get("filters") or {}
    sort = args.get("sort", "relevance")
    if (
        not words
        and not filters
        and sort == "relevance"
        and not args.get("data_source_url")
        and not args.get("page_url")
    ):
        raise invalid("query is empty: give keywords, or filters, or sort by last_edited or created")
    items = ws.everything()
    if args.get("data_source_url"):
        source = ws.data_source_by_url(str(args["data_source_url"]))
        items = [i for i in items if isinstance(i, Page) and i.parent == ("data_source", source.id)]
    if args.get("page_url"):
        root = ws.page(str(args["page_url"]))
        items = [i for i in items if ws.descends_from(i.parent, root.id)]
    teams = list(filters.get("teamspace_ids") or []) + (
        [args["teamspace_id"]] if args.get("teamspace_id") else []
    )
    if teams:
        wanted = {plain_id(t) for t in teams}
        unknown = wanted - set(ws.teams)
        if unknown:
            raise not_found("teamspace", next(iter(t for t in teams if plain_id(t) in unknown)))
        items = [i for i in items if ws.team_of(i) in wanted]
    items = [i for i in items if _passes(ws, i, filters)]
    hits: list[tuple[float, Any]] = []
    for item in items:
        title = item.title.lower()
        body = title if filters.get("title_only") else ws.searchable_text(item).lower()
        score = sum(5 * title.count(w) + body.count(w) for w in words) if words else 1
        if score:
            hits.append((score, item))
    key: Callable[[tuple[float, Any]], Any]
    if sort == "last_edited":
        key = lambda hit: -hit[1].last_edited_time  # noqa: E731
    elif sort == "created":
        key = lambda hit: -hit[1].created_time  # noqa: E731
    else:
        key = lambda hit: (-hit[0], hit[1].title)  # noqa: E731
    hits.sort(key=key)
    limit = int(args.get("max_highlight_length", 200))
    return {"results": [_hit(ws, item, words, limit) for _, item in hits[:size]], "type": "workspace_search"}


def _passes(ws: Workspace, item: Page | Database, filters: dict[str, Any]) -> bool:
    created = filters.get("created_date_range") or {}
    day = time.strftime("%Y-%m-%d", time.gmtime(item.created_time))
    if created.get("start_date") and day < created["start_date"]:
        return False
    if created.get("end_date") and day > created["end_date"]:
        return False
    edited = filters.get("last_edited_date_range") or {}
    day = time.strftime("%Y-%m-%d", time.gmtime(item.last_edited_time))
    if edited.get("start_date") and day < edited["start_date"]:
        return False
    if edited.get("end_date") and day > edited["end_date"]:
        return False
    authors = {plain_id(u) for u in filters.get("created_by_user_ids") or []}
    if authors and (not isinstance(item, Page) or item.created_by not in authors):
        return False
    editors = {plain_id(u) for u in filters.get("edited_by_user_ids") or []}
    return not editors or (isinstance(item, Page) and item.last_edited_by in editors)


def _hit(ws: Workspace, item: Page | Database, words: list[str], limit: int) -> dict[str, Any]:
    kind = "database" if isinstance(item, Database) else "page"
    text = ws.searchable_text(item).replace("\n", " ")
    at = min((text.lower().find(w) for w in words if w in text.lower()), default=0)
    hit: dict[str, Any] = {"id": item.id, "title": item.title, "url": item.url, "type": kind,
                           "timestamp": timestamp_words(item.last_edited_time)}  # fmt: skip
    if limit:
        hit["highlight"] = text[max(0, at - 40) : max(0, at - 40) + limit].strip()
    return hit


# --- fetch --------------------------------------------------------------------------------------------------


@handles("notion-fetch")
def fetch(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    ident = str(args["id"]).strip()
    if ident == "self":
        me = ws.users[ws.self_id]
        workspace: dict[str, Any] = {"id": ws.id, "name": ws.name}
        if ws.icon:
            workspace["icon"] = ws.icon
        return {"metadata": {"type": "self"}, "title": "", "url": "", "text": "",
                "self": {"workspace": workspace, "user": {"id": me.id, "name": me.name, "type": me.type, "email": me.email},
                         "current_tool_access": call.access.status()}}  # fmt: skip
    if ident.startswith("notion://"):
        if ident not in call.docs:
            raise not_found("documentation resource", ident)
        return call.docs[ident]
    kind, found = ws.resolve(ident)
    if kind == "page":
        return ws.render_page(found, bool(args.get("include_discussions")))
    if kind == "database":
        return ws.render_database(found)
    if kind == "data_source":
        return ws.render_data_source(found)
    return ws.render_view(found)


# --- pages --------------------------------------------------------------------------------------------------


def _parent_of(ws: Workspace, parent: dict[str, Any] | None) -> tuple[str, str | None]:
    if parent is None:
        return ("workspace", None)
    keys = {k for k in parent if k != "type"} & {"page_id", "database_id", "data_source_id"}
    if len(keys) != 1:
        raise invalid("parent must have exactly one of page_id, database_id or data_source_id")
    (key,) = keys
    if parent.get("type", key) != key:
        raise invalid(f"parent.type {parent['type']!r} does not match {key}")
    value = str(parent[key])
    if key == "page_id":
        return ("page", ws.page(value).id)
    if key == "data_source_id":
        if value.startswith("collection://"):
            raise invalid(
                "parent.data_source_id takes the data source's ID without collection://; "
                f"use {value.removeprefix('collection://')!r}"
            )
        return ("data_source", ws.data_source(value).id)
    database = ws.database(value)
    live = [i for i in database.data_source_ids if not ws.data_sources[i].in_trash]
    if len(live) != 1:
        urls = ", ".join(ws.data_sources[i].url for i in live)
        raise invalid(
            f'The database "{database.title}" has {len(live)} data sources; a database_id parent works only for a '
            f"database with one. Use data_source_id with one of: {urls}"
        )
    return ("data_source", live[0])


def _set_icon(page: Page | Database, spec: dict[str, Any]) -> None:
    if "icon" in spec:
        page.icon = None if spec["icon"] == "none" else str(spec["icon"])
    if "cover" in spec and isinstance(page, Page):
        page.cover = None if spec["cover"] == "none" else str(spec["cover"])


def _apply_properties(ws: Workspace, page: Page, properties: dict[str, Any]) -> None:
    source = ws.data_source_of(page)
    if source is None:
        unknown = sorted(set(properties) - {"title"})
        if unknown:
            raise invalid(
                f'A page outside a database has only the property "title"; got {", ".join(map(repr, unknown))}'
            )
        if "title" in properties:
            value = properties["title"]
            if value is not None and not isinstance(value, str | int | float):
                raise invalid('"title" takes text')
            page.title = "" if value is None else str(value)
        return
    for key, value in properties.items():
        set_property(ws, source, page, key, value)


@handles("notion-create-pages")
def create_pages(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    if args.get("creation_mode") == "draft" and args.get("parent") is not None:
        raise invalid('creation_mode "draft" cannot be combined with parent')
    parent = _parent_of(ws, args.get("parent"))
    made: list[Page] = []
    staged: list[Page] = []
    for n, spec in enumerate(args["pages"]):
        if spec.get("template_id") and spec.get("content"):
            raise invalid(f"pages[{n}]: do not send content with template_id; the template provides it")
        now = time.time()
        page = Page(ws.new_id(), "", parent, str(spec.get("content") or ""), created_by=call.me,
                    last_edited_by=call.me, created_time=now, last_edited_time=now)  # fmt: skip
        try:
            _apply_properties(ws, page, spec.get("properties") or {})
        except NotionError as exc:
            raise invalid(f"pages[{n}]: {exc.message}") from None
        if spec.get("template_id"):
            page.content = ws.page(str(spec["template_id"])).content
        _set_icon(page, spec)
        page.is_skill = bool(spec.get("is_skill"))
        staged.append(page)
    # Every page is checked before any is made: a bad one leaves the workspace as it was.
    for page in staged:
        ws.pages[page.id] = page
        if parent[0] == "page" and parent[1]:
            above = ws.pages[parent[1]]
            above.content += ("\n" if above.content else "") + child_tag("page", page.url, page.title)
        made.append(page)
    return {"pages": [{"id": p.id, "url": p.url, "properties": ws.property_values(p)} for p in made]}


def _replace(content: str, update: dict[str, Any], n: int) -> str:
    old, new = str(update["old_str"]), str(update["new_str"])
    count = content.count(old)
    if count == 0:
        raise invalid(
            f"content_updates[{n}]: old_str was not found in the page's content; it must match exactly"
        )
    if count > 1 and not update.get("replace_all_matches"):
        raise invalid(
            f"content_updates[{n}]: old_str matches {count} places; make it longer so it matches one, "
            "or set replace_all_matches"
        )
    return content.replace(old, new) if update.get("replace_all_matches") else content.replace(old, new, 1)


@handles("notion-update-page")
def update_page(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    page = ws.page(str(args["page_id"]))
    command = args["command"]
    before = page.content
    content = ws.content_with_titles(page)
    needs = {"update_properties": "properties", "update_content": "content_updates", "replace_content": "new_str",
             "insert_content": "content", "apply_template": "template_id",
             "update_verification": "verification_status"}  # fmt: skip
    if command != "update_properties" and needs[command] not in args:
        raise invalid(f'the {command} command needs "{needs[command]}"')
    if command == "update_properties" and "properties" not in args and "is_skill" not in args:
        raise invalid('the update_properties command needs "properties"')
    draft = copy.deepcopy(page)
    if command == "update_properties":
        _apply_properties(ws, draft, args.get("properties") or {})
    elif command == "update_content":
        for n, update in enumerate(args["content_updates"]):
            content = _replace(content, update, n)
        draft.content = content
    elif command == "replace_content":
        draft.content = str(args["new_str"])
    elif command == "insert_content":
        text = str(args["content"])
        at_start = (args.get("position") or {}).get("type") == "start"
        draft.content = (
            f"{text}\n{content}" if at_start and content else (f"{content}\n{text}" if content else text)
        )
    elif command == "apply_template":
        template = ws.page(str(args["template_id"]))
        draft.content = (content + "\n" if content else "") + template.content
    else:
        if args["verification_status"] == "verified":
            days = args.get("verification_expiry_days")
            draft.verification = {"state": "verified", "owner": user_url(call.me), "verified_at": iso(time.time()),
                                  **({"expires_at": iso(time.time() + days * 86400)} if days else {})}  # fmt: skip
        else:
            draft.verification = None
    lost = children_in(before) - children_in(draft.content)
    if lost and not args.get("allow_deleting_content"):
        named = [
            f"{(ws.pages.get(i) or ws.databases.get(i)).title} ({(ws.pages.get(i) or ws.databases.get(i)).url})"  # type: ignore[union-attr]
            for i in sorted(lost)
            if i in ws.pages or i in ws.databases
        ]
        raise invalid(
            "This change would delete child pages or databases: "
            + "; ".join(named)
            + ". Keep their <page url> and <database url> tags in the new content, or set allow_deleting_content to true."
        )
    _set_icon(draft, args)
    if "is_skill" in args:
        draft.is_skill = bool(args["is_skill"])
    for ident in lost:
        if ident in ws.pages:
            ws.pages[ident].in_trash = True
        elif ident in ws.databases:
            ws.databases[ident].in_trash = True
    draft.last_edited_time = time.time()
    draft.last_edited_by = call.me
    ws.pages[page.id] = draft
    return {"page_id": draft.id, "url": draft.url}


def _moving_parent(ws: Workspace, spec: dict[str, Any]) -> tuple[str, str | None]:
    if spec.get("type") == "workspace" and not ({"page_id", "database_id", "data_source_id"} & set(spec)):
        return ("workspace", None)
    return _parent_of(ws, spec)


@handles("notion-move-pages")
def move_pages(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    target = _moving_parent(ws, args["new_parent"])
    moving: list[Page | Database] = []
    for ident in args["page_or_database_ids"]:
        kind, found = ws.resolve(str(ident))
        if kind not in ("page", "database"):
            raise invalid(f"{ident!r} is a {kind.replace('_', ' ')}; only pages and databases can be moved")
        if isinstance(found, Database) and target[0] == "data_source":
            raise invalid(f'the database "{found.title}" cannot be moved into a data source')
        if target[0] == "page" and (target[1] == found.id or ws.descends_from(target, found.id)):
            raise invalid(f'"{found.title}" cannot be moved into itself or one of its own pages')
        moving.append(found)
    for item in moving:
        old = item.parent
        if old[0] == "page" and old[1]:
            above = ws.pages[old[1]]
            above.content = re.sub(
                rf'\n?<(page|database) url="\{{\{{{re.escape(item.url)}\}}\}}">[^<]*</\1>', "", above.content
            )
        item.parent = target
        if target[0] == "page" and target[1]:
            above = ws.pages[target[1]]
            kind = "database" if isinstance(item, Database) else "page"
            above.content += ("\n" if above.content else "") + child_tag(kind, item.url, item.title)
        if isinstance(item, Page) and target[0] == "data_source":
            item.values = {}
        item.last_edited_time = time.time()
    return {"moved": [{"id": i.id, "url": i.url} for i in moving],
            "new_parent": {"type": target[0], **({"id": target[1]} if target[1] else {})}}  # fmt: skip


@handles("notion-duplicate-page")
def duplicate_page(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    original = ws.page(str(args["page_id"]))
    copy_of = copy.deepcopy(original)
    copy_of.id = ws.new_id()
    copy_of.created_time = copy_of.last_edited_time = time.time()
    copy_of.created_by = copy_of.last_edited_by = call.me
    ws.pages[copy_of.id] = copy_of
    if copy_of.parent[0] == "page" and copy_of.parent[1]:
        above = ws.pages[copy_of.parent[1]]
        above.content += "\n" + child_tag("page", copy_of.url, copy_of.title)
    return {"page_id": copy_of.id, "url": copy_of.url, "status": "in_progress"}


# --- databases and data sources -----------------------------------------------------------------------------

TYPED = {
    "tasks": "CREATE TABLE (\"Task name\" TITLE, \"Status\" STATUS, \"Assignee\" PEOPLE, \"Due date\" DATE, "
             "\"Priority\" SELECT('High':red, 'Medium':yellow, 'Low':green))",
    "projects": "CREATE TABLE (\"Project name\" TITLE, \"Status\" STATUS, \"Owner\" PEOPLE, \"Dates\" DATE)",
    "skills": "CREATE TABLE (\"Name\" TITLE, \"Description\" RICH_TEXT)",
}  # fmt: skip


def _check_new_columns(ws: Workspace, props: list[Property]) -> None:
    if sum(p.type == "unique_id" for p in props) > 1:
        raise invalid("a data source has at most one UNIQUE_ID property")
    for prop in props:
        if prop.type == "relation":
            ws.data_source(str(prop.expression))


@handles("notion-create-database")
def create_database(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    if ("schema" in args) == ("database_type" in args):
        raise invalid("give exactly one of schema or database_type")
    props = ddl.parse_create_table(args.get("schema") or TYPED[args["database_type"]])
    if sum(p.type == "title" for p in props) > 1:
        raise invalid("a data source has exactly one TITLE property")
    if not any(p.type == "title" for p in props):
        props.insert(0, Property("Name", "title"))
    _check_new_columns(ws, props)
    parent: tuple[str, str | None] = ("workspace", None)
    if args.get("parent") is not None:
        parent = ("page", ws.page(str(args["parent"]["page_id"])).id)
    title = str(args.get("title") or "Untitled")
    database = Database(ws.new_id(), title, parent, [], description=str(args.get("description") or ""))
    source = DataSource(ws.new_id(), database.id, title, {p.name: p for p in props})
    view = View(ws.new_id(), database.id, source.id, "Default view")
    database.data_source_ids.append(source.id)
    database.view_ids.append(view.id)
    ws.databases[database.id] = database
    ws.data_sources[source.id] = source
    ws.views[view.id] = view
    if parent[1]:
        above = ws.pages[parent[1]]
        above.content += ("\n" if above.content else "") + child_tag("database", database.url, title)
    return ws.render_database(database, "Created database:")["text"]


@handles("notion-update-data-source")
def update_data_source(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    ident = str(args["data_source_id"])
    key = plain_id(ident) or ""
    if key in ws.databases and not ident.startswith("collection://"):
        database = ws.database(ident)
        if len(database.data_source_ids) != 1:
            raise invalid(
                f'The database "{database.title}" has {len(database.data_source_ids)} data sources; name one by its '
                "collection:// URL"
            )
        source = ws.data_source(database.data_source_ids[0])
    else:
        source = ws.data_source(ident)
    database = ws.databases[source.database_id]
    properties = {name: copy.copy(prop) for name, prop in source.properties.items()}
    renames: dict[str, str] = {}
    for change in ddl.parse_statements(str(args["statements"])) if args.get("statements") else []:
        existing = properties.get(change.name)
        if change.action != "add" and existing is None:
            raise invalid(
                f'"{change.name}" is not a property of "{source.name}"; it has: ' + ", ".join(properties)
            )
        if change.action == "add":
            assert change.property is not None
            if change.name in properties:
                raise invalid(f'"{change.name}" already exists in "{source.name}"')
            if change.property.type == "title":
                raise invalid("the title property cannot be added; a data source has exactly one")
            properties[change.name] = change.property
        elif change.action == "drop":
            assert existing is not None
            if existing.type == "title":
                raise invalid("the title property cannot be dropped")
            del properties[change.name]
        elif change.action == "rename":
            assert change.new_name is not None and existing is not None
            if change.new_name in properties:
                raise invalid(f'"{change.new_name}" already exists in "{source.name}"')
            existing.name = change.new_name
            properties = {(change.new_name if k == change.name else k): v for k, v in properties.items()}
            renames.update({old: change.new_name for old, new in renames.items() if new == change.name})
            renames.setdefault(change.name, change.new_name)
        else:
            assert change.property is not None and existing is not None
            if (existing.type == "title") != (change.property.type == "title"):
                raise invalid("the title property's type cannot change, nor can another become the title")
            properties[change.name] = change.property
    _check_new_columns(ws, list(properties.values()))
    for row in ws.rows(source):
        row.values = {renames.get(k, k): v for k, v in row.values.items() if renames.get(k, k) in properties}
    source.properties = properties
    if "title" in args:
        source.name = str(args["title"])
        if len(database.data_source_ids) == 1:
            database.title = source.name
    if "description" in args:
        source.description = str(args["description"])
    if "is_inline" in args:
        if len(database.data_source_ids) != 1:
            raise invalid("is_inline applies only to a database with one data source")
        database.inline = bool(args["is_inline"])
    if args.get("in_trash"):
        source.in_trash = True
        return f"Moved the data source {source.url} to the trash."
    return ws.render_data_source(source)["text"]


# --- queries ------------------------------------------------------------------------------------------------


def _sql_allowed(call: Call, sources: int) -> None:
    level = call.access.query_data_sources
    if level == "plan_required":
        raise NotionError(
            "plan_required",
            "Querying data sources with SQL needs a Business or Enterprise plan with Notion AI. "
            'View mode (mode "view") works on every plan.',
            upgrade_url="https://www.notion.so/pricing",
        )
    if level == "available_with_limit":
        if sources > 1:
            raise NotionError(
                "plan_required",
                "Querying more than one data source at once needs a Business or Enterprise plan with Notion AI.",
                upgrade_url="https://www.notion.so/pricing",
            )
        if call.access.sql_calls_left <= 0:
            raise NotionError(
                "usage_limit_reached",
                "This workspace has used its SQL queries for now. View mode still works; upgrade for unlimited queries.",
                upgrade_url="https://www.notion.so/pricing",
            )
        call.access.sql_calls_left -= 1


@handles("notion-query-data-sources")
def query_data_sources(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    data = args["data"]
    mode = data.get("mode", "sql")
    if mode == "sql":
        urls = [str(u) for u in data["data_source_urls"]]
        _sql_allowed(call, len(set(urls)))
        return queries.run_sql(ws, urls, str(data["query"]), data.get("params"))
    if mode == "rows":
        _sql_allowed(call, 1)
        source = ws.data_source_by_url(str(data["data_source_url"]))
        rows, more = queries.structured(ws, source, data.get("filter"), list(data.get("sort") or []),
                                        int(data.get("limit", 50)), me=call.me)  # fmt: skip
        return {"results": rows, "has_more": more}
    view = ws.view(str(data["view_url"]))
    source = ws.data_source(view.data_source_id)
    offset = 0
    if data.get("start_cursor"):
        match = re.fullmatch(r"rows-(\d+)", str(data["start_cursor"]))
        if not match:
            raise invalid(f"start_cursor {data['start_cursor']!r} is not a cursor this view gave")
        offset = int(match.group(1))
    size = int(data.get("page_size", 100))
    if data.get("is_archived"):
        return {"results": [], "has_more": False, "next_cursor": None}
    rows, more = queries.structured(ws, source, view.filter, view.sorts, size, offset, me=call.me)
    return {"results": rows, "has_more": more, "next_cursor": f"rows-{offset + size}" if more else None}


@handles("notion-query-multiple-data-sources")
def query_multiple(call: Call, args: dict[str, Any]) -> Any:
    if call.access.query_data_sources != "available":
        raise NotionError(
            "plan_required",
            "Queries across several data sources need a Business or Enterprise plan with Notion AI.",
            upgrade_url="https://www.notion.so/pricing",
        )
    return queries.run_sql(call.workspace, [str(u) for u in args["data_source_urls"]], str(args["query"]),
                           args.get("params"))  # fmt: skip


# --- comments -----------------------------------------------------------------------------------------------


def _plain_rich_text(parts: list[dict[str, Any]]) -> str:
    out = []
    for part in parts:
        if "text" in part:
            text = str(part["text"]["content"])
            link = part["text"].get("link")
            out.append(f"[{text}]({link['url']})" if link else text)
        elif "mention" in part:
            mention = part["mention"]
            if "user" in mention:
                out.append(f'<mention-user url="{user_url(mention["user"]["id"])}"/>')
            elif "date" in mention:
                out.append(f'<mention-date start="{mention["date"]["start"]}"/>')
            elif "page" in mention:
                out.append(f'<mention-page url="{mention["page"]["id"]}"/>')
            else:
                out.append("")
        elif "equation" in part:
            out.append(f"$`{part['equation']['expression']}`$")
    return "".join(out)


@handles("notion-create-comment")
def create_comment(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    page = ws.page(str(args["page_id"]))
    if ("markdown" in args) == ("rich_text" in args):
        raise invalid("give exactly one of markdown or rich_text")
    text = str(args["markdown"]) if "markdown" in args else _plain_rich_text(args["rich_text"])
    if not text.strip():
        raise invalid("a comment needs some text")
    comment = Comment(ws.new_id(), call.me, text)
    if args.get("discussion_id"):
        wanted = str(args["discussion_id"])
        discussion = next(
            (d for d in ws.discussions if wanted in (d.url, d.id) or plain_id(wanted) == d.id), None
        )
        if discussion is None or discussion.page_id != page.id:
            raise not_found("discussion", wanted)
        discussion.comments.append(comment)
    else:
        context = None
        if args.get("selection_with_ellipsis"):
            context = _anchor(ws.content_with_titles(page), str(args["selection_with_ellipsis"]))
        discussion = Discussion(ws.new_id(), page.id, context, comments=[comment])
        ws.discussions.append(discussion)
    return {"id": comment.id, "discussion_id": discussion.url}


def _anchor(content: str, selection: str) -> str:
    if "..." not in selection:
        raise invalid(
            'selection_with_ellipsis must be "start...end": a few characters from each end of the text'
        )
    start, end = (part.strip() for part in selection.split("...", 1))
    blocks = [b for b in content.split("\n") if b.strip()]
    matches = [b for b in blocks if b.strip().startswith(start) and b.strip().endswith(end)]
    if not matches:
        raise invalid(f"selection_with_ellipsis {selection!r} matches no block of the page")
    if len(matches) > 1:
        raise invalid(
            f"selection_with_ellipsis {selection!r} matches {len(matches)} blocks; give more characters"
        )
    return matches[0]


@handles("notion-get-comments")
def get_comments(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    page = ws.page(str(args["page_id"]))
    found = [d for d in ws.discussions if d.page_id == page.id]
    total = len(found)
    if args.get("discussion_id"):
        wanted = str(args["discussion_id"])
        found = [d for d in found if wanted in (d.url, d.id) or plain_id(wanted) == d.id]
        if not found:
            raise not_found("discussion", wanted)
    else:
        if not args.get("include_resolved"):
            found = [d for d in found if not d.resolved]
        if not args.get("include_all_blocks"):
            found = [d for d in found if d.context is None]
    lines = [f'<discussions total-count="{total}" shown-count="{len(found)}">']
    for d in found:
        context = "page" if d.context is None else "block"
        lines.append(f'<discussion id="{d.url}" comment-count="{len(d.comments)}" resolved="{str(d.resolved).lower()}" '
                     f'type="comment" context="{context}">')  # fmt: skip
        if d.context is not None:
            lines.append(f"<context>{html.escape(d.context)}</context>")
        for c in d.comments:
            lines.append(f'<comment id="{c.id}" user-url="{user_url(c.author_id)}" datetime="{iso(c.created_time)}">'
                         f"{html.escape(c.markdown)}</comment>")  # fmt: skip
        lines.append("</discussion>")
    lines.append("</discussions>")
    return "\n".join(lines)


# --- people and teams ---------------------------------------------------------------------------------------


@handles("notion-get-users")
def get_users(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    if args.get("user_id"):
        users = [ws.user(str(args["user_id"]))]
    else:
        users = list(ws.users.values())
        if args.get("query"):
            needle = str(args["query"]).lower()
            users = [u for u in users if needle in f"{u.name} {u.email or ''}".lower()]
    offset = 0
    if args.get("start_cursor"):
        match = re.fullmatch(r"users-(\d+)", str(args["start_cursor"]))
        if not match:
            raise invalid(f"start_cursor {args['start_cursor']!r} is not a cursor this tool gave")
        offset = int(match.group(1))
    size = int(args.get("page_size", 100))
    page = users[offset : offset + size]
    more = offset + size < len(users)
    return {"results": [{"type": u.type, "id": u.id, "name": u.name, **({"email": u.email} if u.email else {})}
                        for u in page], "has_more": more, "next_cursor": f"users-{offset + size}" if more else None}  # fmt: skip


@handles("notion-get-teams")
def get_teams(call: Call, args: dict[str, Any]) -> Any:
    ws = call.workspace
    teams = list(ws.teams.values())
    if args.get("query"):
        teams = [t for t in teams if str(args["query"]).lower() in t.name.lower()]

    def entry(team: Any) -> dict[str, Any]:
        role = "owner" if call.me in team.owners else ("member" if call.me in team.members else "none")
        return {"id": team.id, "name": team.name, "role": role}

    joined = [entry(t) for t in teams if call.me in t.members]
    other = [entry(t) for t in teams if call.me not in t.members]
    return {
        "joinedTeams": joined[:10],
        "otherTeams": other[:10],
        "hasMore": len(joined) > 10 or len(other) > 10,
    }


def as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
