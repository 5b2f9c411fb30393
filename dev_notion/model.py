"""What a Notion workspace holds, as the double keeps it: people, teamspaces, pages, databases with their data
sources and views, discussions. Plain data; dev_notion.workspace does the work.

Ids are UUIDs with dashes; addresses are written as Notion writes them today (docs/notion-compat.md):
``https://app.notion.com/p/<32 hex digits>`` for pages and databases, ``collection://<uuid>`` for data sources,
``view://<uuid>`` for views, ``user://<uuid>`` for people.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

PAGE_BASE = "https://app.notion.com/p/"


class NotionError(Exception):
    """A refusal in Notion's words: a code (``object_not_found``, ``validation_error``, …) and a message that
    names the id, property or value at fault. Tools answer it as an error result."""

    def __init__(self, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.extra = extra

    def payload(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, **self.extra}


def invalid(message: str) -> NotionError:
    return NotionError("validation_error", message)


def not_found(what: str, ident: str) -> NotionError:
    return NotionError(
        "object_not_found",
        f"Could not find {what} with ID: {ident}. Make sure the relevant pages and databases are shared with "
        "the integration.",
    )


def page_url(ident: str) -> str:
    return PAGE_BASE + ident.replace("-", "")


def data_source_url(ident: str) -> str:
    return f"collection://{ident}"


def view_url(ident: str) -> str:
    return f"view://{ident}"


def user_url(ident: str) -> str:
    return f"user://{ident}"


def iso(moment: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(moment))


# Property types by their Notion API names; the DDL keyword of each is its upper-case form.
TEXT_LIKE = {"title", "rich_text", "url", "email", "phone_number"}
OPTION_TYPES = {"select", "multi_select", "status"}
LIST_TYPES = {"multi_select", "people", "relation", "files"}
READ_ONLY_TYPES = {
    "formula",
    "rollup",
    "unique_id",
    "created_time",
    "last_edited_time",
    "created_by",
    "last_edited_by",
}
PROPERTY_TYPES = (
    TEXT_LIKE | OPTION_TYPES | LIST_TYPES | READ_ONLY_TYPES | {"number", "date", "checkbox", "place"}
)
COLORS = ("default", "gray", "brown", "orange", "yellow", "green", "blue", "purple", "pink", "red")


@dataclass
class User:
    id: str
    name: str
    email: str | None
    type: str = "person"


@dataclass
class Team:
    id: str
    name: str
    members: set[str] = field(default_factory=set)
    owners: set[str] = field(default_factory=set)


@dataclass
class Property:
    name: str
    type: str
    options: list[dict[str, str]] = field(default_factory=list)
    """``{"name", "color"}`` for select, multi_select and status."""
    description: str = ""
    number_format: str | None = None
    expression: str | None = None
    """FORMULA's expression, ROLLUP's three names joined, RELATION's data source id."""
    prefix: str | None = None

    def option_names(self) -> list[str]:
        return [o["name"] for o in self.options]

    def state(self) -> dict[str, Any]:
        """This property in a data source's ``<data-source-state>``."""
        entry: dict[str, Any] = {"description": self.description, "name": self.name, "type": self.type}
        if self.options:
            entry["options"] = [dict(o) for o in self.options]
        if self.number_format:
            entry["format"] = self.number_format
        if self.type in READ_ONLY_TYPES:
            entry["readOnly"] = True
        if self.expression is not None:
            entry["expression" if self.type == "formula" else "config"] = self.expression
        return entry


@dataclass
class DataSource:
    id: str
    database_id: str
    name: str
    properties: dict[str, Property]
    description: str = ""
    in_trash: bool = False

    @property
    def url(self) -> str:
        return data_source_url(self.id)

    @property
    def title_property(self) -> Property:
        return next(p for p in self.properties.values() if p.type == "title")


@dataclass
class View:
    id: str
    database_id: str
    data_source_id: str
    name: str
    type: str = "table"
    filter: dict[str, Any] | None = None
    """A rows-mode filter group (dev_notion.queries runs it)."""
    sorts: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Database:
    id: str
    title: str
    parent: tuple[str, str | None]
    data_source_ids: list[str]
    view_ids: list[str] = field(default_factory=list)
    icon: str | None = None
    description: str = ""
    inline: bool = False
    in_trash: bool = False
    created_time: float = field(default_factory=time.time)
    last_edited_time: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return page_url(self.id)


@dataclass
class Page:
    id: str
    title: str
    parent: tuple[str, str | None]
    """("workspace", None), ("page", page id), ("data_source", data source id) or ("database", database id)
    for a database's own page-like entry."""
    content: str = ""
    values: dict[str, Any] = field(default_factory=dict)
    """A data source row's property values by name (the title lives in ``title``)."""
    icon: str | None = None
    cover: str | None = None
    created_by: str = ""
    last_edited_by: str = ""
    created_time: float = field(default_factory=time.time)
    last_edited_time: float = field(default_factory=time.time)
    in_trash: bool = False
    team_id: str | None = None
    verification: dict[str, Any] | None = None
    is_skill: bool = False

    @property
    def url(self) -> str:
        return page_url(self.id)


@dataclass
class Comment:
    id: str
    author_id: str
    markdown: str
    created_time: float = field(default_factory=time.time)


@dataclass
class Discussion:
    id: str
    page_id: str
    context: str | None = None
    """The block text the discussion is anchored to; None for a page-level discussion."""
    resolved: bool = False
    comments: list[Comment] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"discussion://{self.page_id.replace('-', '')}/{self.context_id}/{self.id.replace('-', '')}"

    @property
    def context_id(self) -> str:
        return "page" if self.context is None else f"block-{abs(hash(self.context)) % 10**8:08d}"


def icon_object(icon: str | None) -> dict[str, Any] | None:
    """An icon as the REST API writes it: an emoji, or an external image."""
    if icon is None:
        return None
    if icon.startswith(("http://", "https://")):
        return {"type": "external", "external": {"url": icon}}
    if icon.startswith(":") and icon.endswith(":") and len(icon) > 2:
        return {"type": "custom_emoji", "custom_emoji": {"name": icon.strip(":")}}
    return {"type": "emoji", "emoji": icon}
