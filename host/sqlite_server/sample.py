"""The sample database that makes the defaults work with no set-up: teams, users, projects and tasks.

Deterministic (seeded), so tests and the demo can count on its contents.
"""

from __future__ import annotations

import os
import random
import sqlite3
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE teams (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    notion_database TEXT
);
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    team_id INTEGER NOT NULL REFERENCES teams(id),
    role TEXT NOT NULL,
    joined_on TEXT NOT NULL
);
CREATE TABLE projects (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    team_id INTEGER NOT NULL REFERENCES teams(id),
    status TEXT NOT NULL CHECK (status IN ('planned', 'active', 'done')),
    budget REAL
);
CREATE TABLE tasks (
    id INTEGER PRIMARY KEY,
    project_id INTEGER NOT NULL REFERENCES projects(id),
    assignee_id INTEGER REFERENCES users(id),
    title TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('todo', 'doing', 'done')),
    priority INTEGER NOT NULL CHECK (priority BETWEEN 1 AND 4),
    due_on TEXT
);
"""

TEAMS = [
    ("Platform", "Projects"),
    ("Growth", "Customers"),
    ("Design", "Reading List"),
    ("Support", "Customers"),
    ("Data", "Projects"),
]
FIRST = [
    "Ada",
    "Grace",
    "Alan",
    "Edsger",
    "Barbara",
    "Donald",
    "Frances",
    "Ken",
    "Margaret",
    "Radia",
    "Tim",
    "Linus",
]
LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Thompson",
    "Hamilton",
    "Perlman",
]
ROLES = ["engineer", "engineer", "engineer", "designer", "manager", "analyst"]
VERBS = ["Migrate", "Document", "Refactor", "Ship", "Review", "Measure", "Fix", "Design", "Automate", "Test"]
THINGS = [
    "billing",
    "search",
    "onboarding",
    "the API",
    "exports",
    "sign-in",
    "the dashboard",
    "alerts",
    "sync",
]

USERS = 120
PROJECTS = 30
TASKS = 400


def piece_of_work(rng: random.Random) -> str:
    """A project's or task's name, such as "Migrate billing". The Notion-compatible test server names its
    projects the same way, so the two samples read alike."""
    return f"{rng.choice(VERBS)} {rng.choice(THINGS)}"


def _rows(rng: random.Random) -> dict[str, list[tuple[Any, ...]]]:
    start = date(2024, 1, 1)
    users: list[tuple[Any, ...]] = []
    for user_id in range(1, USERS + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        users.append(
            (
                user_id,
                f"{first} {last}",
                f"{first.lower()}.{last.lower()}{user_id}@example.com",
                rng.randint(1, len(TEAMS)),
                rng.choice(ROLES),
                (start + timedelta(days=rng.randint(0, 700))).isoformat(),
            )
        )
    projects: list[tuple[Any, ...]] = [
        (
            project_id,
            piece_of_work(rng),
            rng.randint(1, len(TEAMS)),
            rng.choice(["planned", "active", "active", "done"]),
            round(rng.uniform(5_000, 250_000), 2),
        )
        for project_id in range(1, PROJECTS + 1)
    ]
    tasks: list[tuple[Any, ...]] = [
        (
            task_id,
            rng.randint(1, PROJECTS),
            rng.choice([None, *range(1, USERS + 1)]),
            f"{piece_of_work(rng)} ({task_id})",
            rng.choice(["todo", "doing", "done"]),
            rng.randint(1, 4),
            (start + timedelta(days=rng.randint(300, 900))).isoformat(),
        )
        for task_id in range(1, TASKS + 1)
    ]
    teams: list[tuple[Any, ...]] = [
        (team_id, name, database) for team_id, (name, database) in enumerate(TEAMS, start=1)
    ]
    return {"teams": teams, "users": users, "projects": projects, "tasks": tasks}


def create_sample_database(path: Path) -> None:
    """Create the sample database at ``path``, atomically: a crash leaves no half-made file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-", suffix=".tmp")
    os.close(fd)
    try:
        with sqlite3.connect(tmp) as db:
            db.executescript(SCHEMA)
            for table, rows in _rows(random.Random(2024)).items():
                marks = ", ".join("?" * len(rows[0]))
                db.executemany(f"INSERT INTO {table} VALUES ({marks})", rows)
        db.close()
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
