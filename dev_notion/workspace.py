"""An in-memory Notion-like workspace: pages with Markdown, databases with typed properties and rows, comments.

Seeded with realistic sample content so the demo and the tests have something to search, query and change.
Everything is deterministic, so tests can name ids and counts.
"""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from host.sqlite_server.sample import piece_of_work

PROPERTY_TYPES = {
    "title",
    "rich_text",
    "select",
    "multi_select",
    "number",
    "date",
    "checkbox",
    "people",
    "url",
}


class WorkspaceError(ValueError):
    """A request the workspace cannot satisfy; the message names the id, property or value at fault."""


def _id(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


@dataclass
class User:
    id: str
    name: str
    email: str


@dataclass
class Page:
    id: str
    title: str
    parent: dict[str, str]
    content: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    created_time: float = field(default_factory=time.time)
    last_edited_time: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        return f"https://www.notion.so/{self.id.replace('-', '')}"


@dataclass
class Database:
    id: str
    data_source_id: str
    title: str
    parent_page_id: str
    schema: dict[str, dict[str, Any]]
    """property name -> {"type": ..., "options": [...]} for selects."""

    @property
    def title_property(self) -> str:
        return next(name for name, spec in self.schema.items() if spec["type"] == "title")


@dataclass
class Comment:
    id: str
    page_id: str
    author_id: str
    text: str
    created_time: float = field(default_factory=time.time)


class Workspace:
    def __init__(self, name: str = "Acme Corp", seed: int = 7) -> None:
        self.name = name
        self.id = str(uuid.UUID(int=seed, version=4))
        self._rng = random.Random(seed)
        self.users: dict[str, User] = {}
        self.pages: dict[str, Page] = {}
        self.databases: dict[str, Database] = {}
        self.comments: list[Comment] = []
        self._seed()

    # --- lookup ---------------------------------------------------------------------------------------

    @staticmethod
    def normalise_id(value: str) -> str:
        """Accept a UUID with or without dashes, or a notion.so URL ending in one."""
        text = (
            value.strip().rstrip("/").split("/")[-1].split("?")[0].split("-")[-1]
            if "notion.so" in value
            else value
        )
        hex_only = text.replace("-", "").lower()
        if len(hex_only) != 32 or any(c not in "0123456789abcdef" for c in hex_only):
            raise WorkspaceError(f"{value!r} is not a Notion page or database id or URL")
        return str(uuid.UUID(hex_only))

    def page(self, page_id: str) -> Page:
        key = self.normalise_id(page_id)
        if key not in self.pages:
            raise WorkspaceError(f"no page with id {page_id}")
        return self.pages[key]

    def database(self, ident: str) -> Database:
        key = self.normalise_id(ident)
        for database in self.databases.values():
            if key in (database.id, database.data_source_id):
                return database
        raise WorkspaceError(f"no database or data source with id {ident}")

    # --- reading --------------------------------------------------------------------------------------

    def search(self, query: str, page_size: int = 10) -> list[dict[str, Any]]:
        words = [w for w in query.lower().split() if w]
        hits: list[tuple[int, dict[str, Any]]] = []
        for page in self.pages.values():
            haystack = f"{page.title}\n{page.content}".lower()
            score = sum(haystack.count(w) + 5 * page.title.lower().count(w) for w in words) if words else 1
            if score:
                hits.append((score, {"object": "page", "id": page.id, "title": page.title, "url": page.url}))
        for database in self.databases.values():
            score = sum(5 * database.title.lower().count(w) for w in words) if words else 1
            if score:
                hits.append(
                    (
                        score,
                        {
                            "object": "database",
                            "id": database.id,
                            "data_source_id": database.data_source_id,
                            "title": database.title,
                        },
                    )
                )
        hits.sort(key=lambda hit: (-hit[0], hit[1]["title"]))
        return [hit for _, hit in hits[:page_size]]

    def fetch(self, ident: str) -> str:
        key = self.normalise_id(ident)
        if key in self.pages:
            page = self.pages[key]
            props = "\n".join(f"- {name}: {_plain(value)}" for name, value in page.properties.items())
            header = f"# {page.title}\n\nid: {page.id}\nurl: {page.url}\n"
            return header + (f"\nProperties:\n{props}\n" if props else "") + f"\n{page.content}"
        database = self.database(ident)
        lines = [
            f"# {database.title} (database)",
            f"id: {database.id}",
            f"data_source_id: {database.data_source_id}",
            "",
            "Schema:",
        ]
        for name, spec in database.schema.items():
            options = f" options: {', '.join(spec['options'])}" if spec.get("options") else ""
            lines.append(f"- {name} ({spec['type']}){options}")
        rows = self.rows(database)
        lines += ["", f"Rows ({len(rows)}):"]
        lines += [f"- {row.title} ({row.id})" for row in rows]
        return "\n".join(lines)

    def rows(self, database: Database) -> list[Page]:
        return [p for p in self.pages.values() if p.parent.get("database_id") == database.id]

    def query(
        self,
        ident: str,
        filter: dict[str, Any] | None = None,
        sorts: list[dict[str, Any]] | None = None,
        page_size: int = 100,
    ) -> list[dict[str, Any]]:
        database = self.database(ident)
        rows = [row for row in self.rows(database) if filter is None or _matches(database, row, filter)]
        for sort in reversed(sorts or []):
            prop = sort.get("property")
            if prop not in database.schema:
                raise WorkspaceError(f"cannot sort by {prop!r}: {database.title} has no such property")
            descending = sort.get("direction", "ascending") == "descending"
            rows.sort(key=lambda row, p=prop: _sort_key(row.properties.get(p)), reverse=descending)
        return [
            {"id": row.id, "url": row.url, "properties": dict(row.properties)} for row in rows[:page_size]
        ]

    # --- writing --------------------------------------------------------------------------------------

    def create_page(self, parent: dict[str, str], properties: dict[str, Any], content: str = "") -> Page:
        if "page_id" in parent:
            parent_page = self.page(parent["page_id"])
            title = properties.get("title") or properties.get("Title") or "Untitled"
            page = Page(
                id=_id(self._rng),
                title=str(_plain(title)),
                parent={"page_id": parent_page.id},
                content=content,
            )
        elif "database_id" in parent or "data_source_id" in parent:
            database = self.database(parent.get("database_id") or parent["data_source_id"])
            values = self._validate_properties(database, properties)
            title = values.get(database.title_property) or "Untitled"
            page = Page(
                id=_id(self._rng),
                title=str(title),
                parent={"database_id": database.id},
                content=content,
                properties=values,
            )
        else:
            raise WorkspaceError("parent must have page_id, database_id or data_source_id")
        self.pages[page.id] = page
        return page

    def update_page(
        self,
        page_id: str,
        command: str,
        properties: dict[str, Any] | None,
        new_str: str | None,
        selection: str | None = None,
    ) -> Page:
        page = self.page(page_id)
        if command == "update_properties":
            if not properties:
                raise WorkspaceError("update_properties needs properties")
            database_id = page.parent.get("database_id")
            if database_id:
                database = self.databases[database_id]
                page.properties.update(self._validate_properties(database, properties))
                page.title = str(page.properties.get(database.title_property, page.title))
            elif "title" in properties:
                page.title = str(_plain(properties["title"]))
        elif command == "replace_content":
            page.content = new_str or ""
        elif command == "insert_content_after":
            if selection and selection in page.content:
                at = page.content.index(selection) + len(selection)
                page.content = page.content[:at] + (new_str or "") + page.content[at:]
            else:
                page.content += new_str or ""
        else:
            raise WorkspaceError(
                f"unknown command {command!r}; use update_properties, replace_content or insert_content_after"
            )
        page.last_edited_time = time.time()
        return page

    def add_comment(self, page_id: str, text: str) -> Comment:
        page = self.page(page_id)
        if not text.strip():
            raise WorkspaceError("a comment needs some text")
        comment = Comment(id=_id(self._rng), page_id=page.id, author_id=next(iter(self.users)), text=text)
        self.comments.append(comment)
        return comment

    def _validate_properties(self, database: Database, properties: dict[str, Any]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in properties.items():
            spec = database.schema.get(name)
            if spec is None:
                known = ", ".join(database.schema)
                raise WorkspaceError(f"{database.title} has no property {name!r} (it has: {known})")
            value = _plain(raw)
            kind = spec["type"]
            if kind == "number" and value is not None and not isinstance(value, int | float):
                raise WorkspaceError(f"{name} is a number property; got {value!r}")
            if kind == "checkbox" and not isinstance(value, bool):
                raise WorkspaceError(f"{name} is a checkbox property; got {value!r}")
            if kind == "select" and value is not None and value not in spec["options"]:
                raise WorkspaceError(f"{name} must be one of {', '.join(spec['options'])}; got {value!r}")
            if kind == "multi_select":
                value = [value] if isinstance(value, str) else list(value or [])
                bad = [v for v in value if v not in spec["options"]]
                if bad:
                    raise WorkspaceError(
                        f"{name} must be chosen from {', '.join(spec['options'])}; got {bad}"
                    )
            values[name] = value
        return values

    # --- seed -----------------------------------------------------------------------------------------

    def _seed(self) -> None:
        rng = self._rng
        for name in ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra"]:
            user = User(id=_id(rng), name=name, email=f"{name.split()[0].lower()}@acme.example")
            self.users[user.id] = user
        people = [u.name for u in self.users.values()]
        home = self._page("Acme Corp Home", {"workspace": "true"}, HOME_MD)
        handbook = self._page("Engineering Handbook", {"page_id": home.id}, HANDBOOK_MD)
        self._page("On-call Runbook", {"page_id": handbook.id}, RUNBOOK_MD)
        self._page("Q3 Planning Notes", {"page_id": home.id}, PLANNING_MD)
        self._page("Customer Interview: Globex", {"page_id": home.id}, INTERVIEW_MD)

        reading = self._database(
            "Reading List",
            home.id,
            {
                "Name": {"type": "title"},
                "Author": {"type": "rich_text"},
                "Status": {"type": "select", "options": ["To read", "Reading", "Done"]},
                "Tags": {
                    "type": "multi_select",
                    "options": ["engineering", "design", "management", "research"],
                },
                "Rating": {"type": "number"},
                "URL": {"type": "url"},
                "Added": {"type": "date"},
            },
        )
        for i, (title, author) in enumerate(BOOKS):
            self._row(
                reading,
                {
                    "Name": title,
                    "Author": author,
                    "Status": rng.choice(["To read", "Reading", "Done"]),
                    "Tags": rng.sample(
                        ["engineering", "design", "management", "research"], k=rng.randint(1, 2)
                    ),
                    "Rating": rng.randint(1, 5),
                    "URL": f"https://books.example/{i}",
                    "Added": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                },
            )
        projects = self._database(
            "Projects",
            home.id,
            {
                "Name": {"type": "title"},
                "Status": {"type": "select", "options": ["Planned", "In progress", "Done"]},
                "Owner": {"type": "people"},
                "Budget": {"type": "number"},
                "Due": {"type": "date"},
                "Shipped": {"type": "checkbox"},
            },
        )
        for i in range(40):
            status = rng.choice(["Planned", "In progress", "Done"])
            self._row(
                projects,
                {
                    "Name": f"{piece_of_work(rng)} #{i + 1}",
                    "Status": status,
                    "Owner": [rng.choice(people)],
                    "Budget": rng.randint(5, 250) * 1000,
                    "Due": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                    "Shipped": status == "Done",
                },
            )
        customers = self._database(
            "Customers",
            home.id,
            {
                "Company": {"type": "title"},
                "Plan": {"type": "select", "options": ["Free", "Team", "Enterprise"]},
                "Seats": {"type": "number"},
                "Champion": {"type": "rich_text"},
                "Active": {"type": "checkbox"},
            },
        )
        for company in COMPANIES:
            self._row(
                customers,
                {
                    "Company": company,
                    "Plan": rng.choice(["Free", "Team", "Enterprise"]),
                    "Seats": rng.randint(3, 900),
                    "Champion": rng.choice(people),
                    "Active": rng.random() > 0.2,
                },
            )
        self.comments.append(
            Comment(
                id=_id(rng),
                page_id=handbook.id,
                author_id=next(iter(self.users)),
                text="Can we add a section on code review?",
            )
        )

    def _page(self, title: str, parent: dict[str, str], content: str) -> Page:
        page = Page(id=_id(self._rng), title=title, parent=parent, content=content)
        self.pages[page.id] = page
        return page

    def _database(self, title: str, parent_page_id: str, schema: dict[str, dict[str, Any]]) -> Database:
        database = Database(
            id=_id(self._rng),
            data_source_id=_id(self._rng),
            title=title,
            parent_page_id=parent_page_id,
            schema=schema,
        )
        self.databases[database.id] = database
        return database

    def _row(self, database: Database, values: dict[str, Any]) -> Page:
        page = Page(
            id=_id(self._rng),
            title=str(values[database.title_property]),
            parent={"database_id": database.id},
            properties=values,
            content="",
        )
        self.pages[page.id] = page
        return page

    def add_large_page(self, mib: float) -> Page:
        line = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 4 + "\n"
        size = int(mib * 1024 * 1024)
        body = (line * (size // len(line) + 1))[:size]
        return self._page(f"Large page ({mib:g} MiB)", {"workspace": "true"}, body)


def _plain(value: Any) -> Any:
    """Notion's property value shapes, or plain values, reduced to plain values."""
    if isinstance(value, dict):
        for key in ("title", "rich_text"):
            if key in value:
                return "".join(_plain(part) for part in value[key])
        if "text" in value and isinstance(value["text"], dict):
            return value["text"].get("content", "")
        for key in ("select", "number", "checkbox", "url", "date", "name", "content", "start"):
            if key in value:
                inner = value[key]
                return _plain(inner) if isinstance(inner, dict) else inner
        if "multi_select" in value:
            return [_plain(v) for v in value["multi_select"]]
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        return [_plain(v) for v in value]
    return value


def _sort_key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (1, "")
    if isinstance(value, list):
        return (0, ",".join(map(str, value)))
    return (0, value if isinstance(value, int | float) else str(value).lower())


_CONDITIONS = {
    "equals": lambda v, x: v == x or (isinstance(v, list) and x in v),
    "does_not_equal": lambda v, x: v != x,
    "contains": lambda v, x: x in v if isinstance(v, list) else str(x).lower() in str(v or "").lower(),
    "does_not_contain": lambda v, x: (
        x not in v if isinstance(v, list) else str(x).lower() not in str(v or "").lower()
    ),
    "starts_with": lambda v, x: str(v or "").lower().startswith(str(x).lower()),
    "greater_than": lambda v, x: v is not None and v > x,
    "less_than": lambda v, x: v is not None and v < x,
    "greater_than_or_equal_to": lambda v, x: v is not None and v >= x,
    "less_than_or_equal_to": lambda v, x: v is not None and v <= x,
    "before": lambda v, x: v is not None and str(v) < str(x),
    "after": lambda v, x: v is not None and str(v) > str(x),
    "is_empty": lambda v, x: v in (None, "", []),
    "is_not_empty": lambda v, x: v not in (None, "", []),
}


def _matches(database: Database, row: Page, flt: dict[str, Any]) -> bool:
    if "and" in flt:
        return all(_matches(database, row, part) for part in flt["and"])
    if "or" in flt:
        return any(_matches(database, row, part) for part in flt["or"])
    prop = flt.get("property")
    if prop not in database.schema:
        known = ", ".join(database.schema)
        raise WorkspaceError(
            f"cannot filter on {prop!r}: {database.title} has no such property (it has: {known})"
        )
    kind = database.schema[prop]["type"]
    condition_block = flt.get(kind) or next(
        (v for k, v in flt.items() if k != "property" and isinstance(v, dict)), None
    )
    if not isinstance(condition_block, dict) or len(condition_block) != 1:
        raise WorkspaceError(
            f"filter on {prop!r} needs one condition, e.g. {{'property': '{prop}', '{kind}': {{'equals': …}}}}"
        )
    ((condition, operand),) = condition_block.items()
    test = _CONDITIONS.get(condition)
    if test is None:
        raise WorkspaceError(f"unknown filter condition {condition!r}; use one of {', '.join(_CONDITIONS)}")
    try:
        return bool(test(row.properties.get(prop), operand))
    except TypeError:
        raise WorkspaceError(f"condition {condition} cannot compare {prop} with {operand!r}") from None


COMPANIES = [
    "Globex", "Initech", "Umbrella", "Hooli", "Vandelay Industries", "Stark Industries", "Wayne Enterprises",
    "Wonka", "Tyrell", "Cyberdyne", "Soylent", "Aperture", "Black Mesa", "Oscorp", "Gringotts", "Monarch",
    "Pied Piper", "Dunder Mifflin", "Prestige Worldwide", "Bluth Company", "Los Pollos Hermanos", "Massive Dynamic",
]  # fmt: skip
BOOKS = [
    ("The Mythical Man-Month", "Fred Brooks"), ("Designing Data-Intensive Applications", "Martin Kleppmann"),
    ("A Philosophy of Software Design", "John Ousterhout"), ("The Design of Everyday Things", "Don Norman"),
    ("Accelerate", "Nicole Forsgren"), ("An Elegant Puzzle", "Will Larson"), ("Thinking in Systems", "Donella Meadows"),
    ("The Pragmatic Programmer", "Andy Hunt"), ("Working in Public", "Nadia Eghbal"), ("Shape Up", "Ryan Singer"),
    ("Crafting Interpreters", "Robert Nystrom"), ("Site Reliability Engineering", "Betsy Beyer"),
    ("Refactoring", "Martin Fowler"), ("Domain-Driven Design", "Eric Evans"), ("Don't Make Me Think", "Steve Krug"),
    ("The Manager's Path", "Camille Fournier"), ("Structure and Interpretation of Computer Programs", "Harold Abelson"),
    ("The Art of Doing Science and Engineering", "Richard Hamming"), ("Peopleware", "Tom DeMarco"),
    ("High Output Management", "Andrew Grove"), ("Release It!", "Michael Nygard"), ("Team Topologies", "Matthew Skelton"),
    ("Inspired", "Marty Cagan"), ("Making Software", "Andy Oram"),
]  # fmt: skip

HOME_MD = """Welcome to **Acme Corp**. Start here.

- [Engineering Handbook](Engineering Handbook)
- [Q3 Planning Notes](Q3 Planning Notes)
- Databases: Reading List, Projects, Customers
"""
HANDBOOK_MD = """## How we work

We ship small changes often. Every change is reviewed by one other engineer.

## Tools

- Issues live in the Projects database.
- The on-call rota and runbook are linked below.
"""
RUNBOOK_MD = """## When the pager goes off

1. Acknowledge within 5 minutes.
2. Check the dashboard for error rates and latency.
3. Roll back the last deploy if errors rose after it.
"""
PLANNING_MD = """## Goals for Q3

- Cut onboarding time in half.
- Ship usage-based billing.
- Grow Enterprise customers by 20%.
"""
INTERVIEW_MD = """## Globex, 45 minutes

They love the search but exports are slow. Their champion wants SSO before renewing.
"""
