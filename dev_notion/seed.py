"""The sample content every Notion-compatible workspace starts with: people, teamspaces, pages, and databases
with typed properties (one of them with two data sources), rows, views and a discussion. Deterministic."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import TYPE_CHECKING, Any

from dev_notion.model import Comment, Database, DataSource, Discussion, Page, Team, User, View
from dev_notion.workspace import child_tag, new_property
from host.sqlite_server.sample import piece_of_work

if TYPE_CHECKING:
    from dev_notion.workspace import Workspace

PEOPLE = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra"]
# Seeded pages get times in the past, a row a day, so "last edited" orders are stable and plausible.
_EPOCH = time.time() - 200 * 86400


def seed(ws: Workspace) -> None:
    rng = ws._rng
    domain = re.sub(r"[^a-z0-9]+", "", ws.name.lower().split()[0]) or "example"
    for name in PEOPLE:
        user = User(ws.new_id(), name, f"{name.split()[0].lower()}@{domain}.example")
        ws.users[user.id] = user
    bot = User(ws.new_id(), "Notion MCP", None, type="bot")
    ws.users[bot.id] = bot
    people = [u for u in ws.users.values() if u.type == "person"]
    ws.self_id = people[0].id
    clock = iter(range(10_000))

    def stamp() -> float:
        return _EPOCH + next(clock) * 3600

    general = _team(ws, "General", {u.id for u in people})
    engineering = _team(ws, "Engineering", {people[0].id, people[2].id, people[3].id, people[4].id})
    _team(ws, "Sales", {people[1].id})

    def add_page(title: str, parent: tuple[str, str | None], content: str = "", **fields: Any) -> Page:
        page = Page(ws.new_id(), title, parent, content, created_by=people[0].id, last_edited_by=people[0].id,
                    created_time=(when := stamp()), last_edited_time=when, **fields)  # fmt: skip
        ws.pages[page.id] = page
        if parent[0] == "page" and parent[1]:
            above = ws.pages[parent[1]]
            above.content += ("\n" if above.content else "") + child_tag("page", page.url, title)
        return page

    home = add_page(f"{ws.name} Home", ("workspace", None), HOME_MD.format(name=ws.name), icon="🏠",
                    team_id=general.id)  # fmt: skip
    handbook = add_page(
        "Engineering Handbook", ("page", home.id), HANDBOOK_MD, icon="📘", team_id=engineering.id
    )
    add_page("On-call Runbook", ("page", handbook.id), RUNBOOK_MD, icon="🚨")
    add_page("Q3 Planning Notes", ("page", home.id), PLANNING_MD, icon="🗓️")
    add_page("Customer Interview: Globex", ("page", home.id), INTERVIEW_MD)

    def add_database(title: str, icon: str, sources: list[tuple[str, list[Any]]]) -> list[DataSource]:
        when = stamp()
        database = Database(
            ws.new_id(), title, ("page", home.id), [], icon=icon, created_time=when, last_edited_time=when
        )
        ws.databases[database.id] = database
        made = []
        for name, props in sources:
            source = DataSource(ws.new_id(), database.id, name, {p.name: p for p in props})
            ws.data_sources[source.id] = source
            database.data_source_ids.append(source.id)
            made.append(source)
            view = View(ws.new_id(), database.id, source.id, f"All {name.lower()}")
            ws.views[view.id] = view
            database.view_ids.append(view.id)
        home.content += "\n" + child_tag("database", database.url, title)
        return made

    def add_row(source: DataSource, title: str, values: dict[str, Any]) -> Page:
        when = stamp()
        page = Page(ws.new_id(), title, ("data_source", source.id), "", dict(values),
                    created_by=people[0].id, last_edited_by=people[0].id, created_time=when, last_edited_time=when)  # fmt: skip
        ws.pages[page.id] = page
        return page

    p = new_property
    (reading,) = add_database("Reading List", "📚", [("Reading List", [
        p("Name", "title"), p("Author", "rich_text"),
        p("Status", "select", options=["To read", "Reading", "Done"]),
        p("Tags", "multi_select", options=["engineering", "design", "management", "research"]),
        p("Rating", "number"), p("URL", "url"), p("Added", "date")])])  # fmt: skip
    for i, (title, author) in enumerate(BOOKS):
        add_row(reading, title, {
            "Author": author, "Status": rng.choice(["To read", "Reading", "Done"]),
            "Tags": rng.sample(["engineering", "design", "management", "research"], k=rng.randint(1, 2)),
            "Rating": rng.randint(1, 5), "URL": f"https://books.example/{i}",
            "Added": {"start": f"2025-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}})  # fmt: skip

    (projects,) = add_database("Projects", "🚀", [("Projects", [
        p("Name", "title"), p("Status", "select", options=["Planned", "In progress", "Done"]),
        p("Owner", "people"), p("Budget", "number", number_format="dollar"), p("Due", "date"),
        p("Shipped", "checkbox")])])  # fmt: skip
    for i in range(40):
        status = rng.choice(["Planned", "In progress", "Done"])
        add_row(projects, f"{piece_of_work(rng)} #{i + 1}", {
            "Status": status, "Owner": [rng.choice(people).id], "Budget": rng.randint(5, 250) * 1000,
            "Due": {"start": f"2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"}, "Shipped": status == "Done"})  # fmt: skip

    (customers,) = add_database("Customers", "🤝", [("Customers", [
        p("Company", "title"), p("Plan", "select", options=["Free", "Team", "Enterprise"]), p("Seats", "number"),
        p("Champion", "rich_text"), p("Active", "checkbox")])])  # fmt: skip
    for company in COMPANIES:
        add_row(customers, company, {
            "Plan": rng.choice(["Free", "Team", "Enterprise"]), "Seats": rng.randint(3, 900),
            "Champion": rng.choice(people).name, "Active": rng.random() > 0.2})  # fmt: skip

    (tasks,) = add_database("Tasks", "✅", [("Tasks", [
        p("Name", "title"),
        p("Status", "status", options=[{"name": "Not started", "color": "default"},
                                       {"name": "In Progress", "color": "blue"}, {"name": "Done", "color": "green"}]),
        p("Priority", "select", options=[{"name": "High", "color": "red"}, {"name": "Medium", "color": "yellow"},
                                         {"name": "Low", "color": "green"}]),
        p("Due", "date"), p("Assignee", "people"),
        p("Tags", "multi_select", options=["bug", "feature", "docs", "infra"]),
        p("Estimate", "number"), p("Blocked", "checkbox")])])  # fmt: skip
    start = dt.date(2026, 9, 1)
    for i in range(36):
        due = start + dt.timedelta(days=(i * 7) % 120 + rng.randint(0, 6))
        add_row(tasks, f"{piece_of_work(rng)} (T-{i + 1})", {
            "Status": ["Not started", "In Progress", "Done"][i % 3] if i % 5 else "In Progress",
            "Priority": rng.choice(["High", "Medium", "Low"]), "Due": {"start": due.isoformat()},
            "Assignee": [rng.choice(people).id], "Tags": rng.sample(["bug", "feature", "docs", "infra"], k=rng.randint(1, 2)),
            "Estimate": rng.choice([1, 2, 3, 5, 8]), "Blocked": i % 7 == 3})  # fmt: skip
    database = ws.databases[tasks.database_id]
    for name, view_filter, sorts, kind in (
        ("In progress", {"type": "group", "operator": "and", "filters": [
            {"type": "property", "property": "Status", "propertyType": "status", "operator": "status_is",
             "value": {"type": "is_option", "value": "In Progress"}}]},
         [{"property": "Due", "direction": "descending"}], "table"),
        ("Board", None, [], "board"),
    ):  # fmt: skip
        view = View(ws.new_id(), database.id, tasks.id, name, kind, view_filter, sorts)
        ws.views[view.id] = view
        database.view_ids.append(view.id)

    features, bugs = add_database("Roadmap", "🗺️", [
        ("Features", [p("Name", "title"), p("Stage", "select", options=["Idea", "Building", "Shipped"]),
                      p("Quarter", "select", options=["Q1", "Q2", "Q3", "Q4"])]),
        ("Bugs", [p("Name", "title"), p("Severity", "select", options=["S1", "S2", "S3"]), p("Fixed", "checkbox")]),
    ])  # fmt: skip
    for i in range(6):
        add_row(features, f"{piece_of_work(rng)} feature", {"Stage": rng.choice(["Idea", "Building", "Shipped"]),
                                                           "Quarter": f"Q{i % 4 + 1}"})  # fmt: skip
        add_row(
            bugs,
            f"{piece_of_work(rng)} fails",
            {"Severity": rng.choice(["S1", "S2", "S3"]), "Fixed": i % 2 == 0},
        )

    question = Comment(
        ws.new_id(), people[1].id, "Can we add a section on code review?", created_time=stamp()
    )
    ws.discussions.append(Discussion(ws.new_id(), handbook.id, comments=[question]))
    # The databases' schemas were set up last, so they lead a search sorted by last edit, as a workspace's
    # databases do when someone has just been arranging them.
    for database in ws.databases.values():
        database.last_edited_time = stamp()


def _team(ws: Workspace, name: str, members: set[str]) -> Team:
    team = Team(ws.new_id(), name, members, owners={ws.self_id} if ws.self_id in members else set())
    ws.teams[team.id] = team
    return team


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

HOME_MD = """Welcome to **{name}**. Start here.

## Where things are
- The handbook says how we work.
- Databases: Reading List, Projects, Customers, Tasks and the Roadmap."""
HANDBOOK_MD = """## How we work

We ship small changes often. Every change is reviewed by one other engineer.

## Tools

- Issues live in the Projects database.
- The on-call rota and runbook are linked below."""
RUNBOOK_MD = """## When the pager goes off

1. Acknowledge within 5 minutes.
2. Check the dashboard for error rates and latency.
3. Roll back the last deploy if errors rose after it."""
PLANNING_MD = """## Goals for Q3

- Cut onboarding time in half.
- Ship usage-based billing.
- Grow Enterprise customers by 20%."""
INTERVIEW_MD = """## Globex, 45 minutes

They love the search but exports are slow. Their champion wants SSO before renewing."""
