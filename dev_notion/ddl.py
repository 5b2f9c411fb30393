"""The SQL DDL that notion-create-database and notion-update-data-source take, parsed into properties.

    CREATE TABLE ("Name" TITLE, "Budget" NUMBER FORMAT 'dollar', "Tags" MULTI_SELECT('eng':blue, 'design'))
    ADD COLUMN "Priority" SELECT('High':red); DROP COLUMN "Old"; RENAME COLUMN "A" TO "B"; ALTER COLUMN "A" SET DATE

Column names are double-quoted (``""`` inside), strings single-quoted (``''`` inside). Anything else is refused with
the position and what was expected there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from dev_notion.model import COLORS, Property, invalid

SIMPLE = {
    "TITLE": "title",
    "RICH_TEXT": "rich_text",
    "TEXT": "rich_text",
    "DATE": "date",
    "PEOPLE": "people",
    "PERSON": "people",
    "CHECKBOX": "checkbox",
    "URL": "url",
    "EMAIL": "email",
    "PHONE_NUMBER": "phone_number",
    "STATUS": "status",
    "FILES": "files",
    "CREATED_TIME": "created_time",
    "LAST_EDITED_TIME": "last_edited_time",
    "CREATED_BY": "created_by",
    "LAST_EDITED_BY": "last_edited_by",
    "PLACE": "place",
}
_TOKEN = re.compile(
    r"""\s*(?:(?P<name>"(?:[^"]|"")*")|(?P<string>'(?:[^']|'')*')|(?P<word>[A-Za-z_][A-Za-z_0-9]*)"""
    r"""|(?P<number>-?\d+(?:\.\d+)?)|(?P<punct>[(),:;]))"""
)


@dataclass
class Token:
    kind: str
    text: str
    at: int

    @property
    def value(self) -> str:
        if self.kind == "name":
            return self.text[1:-1].replace('""', '"')
        if self.kind == "string":
            return self.text[1:-1].replace("''", "'")
        return self.text


def _tokens(text: str) -> list[Token]:
    found: list[Token] = []
    at = 0
    while at < len(text):
        if text[at:].strip() == "":
            break
        match = _TOKEN.match(text, at)
        if match is None or match.end() == at:
            raise invalid(f"DDL: cannot read {text[at : at + 20]!r} at character {at}")
        kind = next(k for k, v in match.groupdict().items() if v is not None)
        found.append(Token(kind, match.group(kind), match.start(kind)))
        at = match.end()
    return found


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokens(text)
        self.i = 0

    def peek(self, offset: int = 0) -> Token | None:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else None

    def fail(self, expected: str) -> Any:
        token = self.peek()
        where = f"at character {token.at} ({token.text!r})" if token else "at the end"
        raise invalid(f"DDL: expected {expected} {where}")

    def word(self, *words: str) -> str:
        token = self.peek()
        if token is None or token.kind != "word" or (words and token.text.upper() not in words):
            self.fail(" or ".join(words) if words else "a keyword")
        assert token is not None
        self.i += 1
        return token.text.upper()

    def maybe_word(self, word: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "word" and token.text.upper() == word:
            self.i += 1
            return True
        return False

    def punct(self, char: str) -> None:
        token = self.peek()
        if token is None or token.text != char:
            self.fail(repr(char))
        self.i += 1

    def maybe_punct(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.text == char:
            self.i += 1
            return True
        return False

    def name(self) -> str:
        token = self.peek()
        if token is None or token.kind != "name":
            self.fail("a double-quoted column name")
        assert token is not None
        self.i += 1
        if not token.value.strip():
            raise invalid(f"DDL: an empty column name at character {token.at}")
        return token.value

    def string(self) -> str:
        token = self.peek()
        if token is None or token.kind != "string":
            self.fail("a single-quoted string")
        assert token is not None
        self.i += 1
        return token.value

    def column(self) -> Property:
        name = self.name()
        prop = self.kind(name)
        if self.maybe_word("COMMENT"):
            prop.description = self.string()
        return prop

    def kind(self, name: str) -> Property:
        keyword = self.word()
        if keyword in SIMPLE:
            prop = Property(name, SIMPLE[keyword])
            if keyword == "STATUS":
                prop.options = [
                    {"name": "Not started", "color": "default"},
                    {"name": "In progress", "color": "blue"},
                    {"name": "Done", "color": "green"},
                ]
            return prop
        if keyword in ("SELECT", "MULTI_SELECT"):
            self.punct("(")
            options: list[dict[str, str]] = []
            while not self.maybe_punct(")"):
                if options:
                    self.punct(",")
                option = self.string()
                color = "default"
                if self.maybe_punct(":"):
                    color = self.word().lower()
                    if color not in COLORS:
                        raise invalid(f"DDL: {color!r} is not a colour; use one of {', '.join(COLORS)}")
                options.append({"name": option, "color": color})
            return Property(name, keyword.lower(), options=options)
        if keyword == "NUMBER":
            prop = Property(name, "number")
            if self.maybe_word("FORMAT"):
                prop.number_format = self.string()
            return prop
        if keyword == "FORMULA":
            self.punct("(")
            expression = self.string()
            self.punct(")")
            return Property(name, "formula", expression=expression)
        if keyword == "RELATION":
            self.punct("(")
            target = self.string()
            while self.maybe_punct(","):
                self.word("DUAL")
                while (token := self.peek()) is not None and token.kind == "string":
                    self.i += 1
            self.punct(")")
            return Property(name, "relation", expression=target)
        if keyword == "ROLLUP":
            self.punct("(")
            parts = [self.string()]
            for _ in range(2):
                self.punct(",")
                parts.append(self.string())
            self.punct(")")
            return Property(name, "rollup", expression="|".join(parts))
        if keyword == "UNIQUE_ID":
            prop = Property(name, "unique_id")
            if self.maybe_word("PREFIX"):
                prop.prefix = self.string()
            return prop
        raise invalid(f"DDL: {keyword} is not a property type")

    def done(self) -> None:
        self.maybe_punct(";")
        if self.peek() is not None:
            self.fail("the end of the statement")


def parse_create_table(text: str) -> list[Property]:
    parser = _Parser(text)
    parser.word("CREATE")
    parser.word("TABLE")
    if parser.maybe_word("IF"):
        parser.word("NOT")
        parser.word("EXISTS")
    token = parser.peek()
    if token is not None and token.kind == "name":
        parser.i += 1  # a table name is allowed and ignored: the database's title names it
    parser.punct("(")
    columns = [parser.column()]
    while parser.maybe_punct(","):
        columns.append(parser.column())
    parser.punct(")")
    parser.done()
    names = [c.name for c in columns]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise invalid(f"DDL: column {duplicated[0]!r} is defined twice")
    return columns


@dataclass
class Change:
    action: str
    """add, drop, rename or alter."""
    name: str
    new_name: str | None = None
    property: Property | None = None


def parse_statements(text: str) -> list[Change]:
    parser = _Parser(text)
    changes: list[Change] = []
    while parser.peek() is not None:
        verb = parser.word("ADD", "DROP", "RENAME", "ALTER")
        parser.word("COLUMN")
        if verb == "ADD":
            prop = parser.column()
            changes.append(Change("add", prop.name, property=prop))
        elif verb == "DROP":
            changes.append(Change("drop", parser.name()))
        elif verb == "RENAME":
            old = parser.name()
            parser.word("TO")
            changes.append(Change("rename", old, new_name=parser.name()))
        else:
            name = parser.name()
            parser.word("SET")
            prop = parser.kind(name)
            if parser.maybe_word("COMMENT"):
                prop.description = parser.string()
            changes.append(Change("alter", name, property=prop))
        if not parser.maybe_punct(";") and parser.peek() is not None:
            parser.fail("';' between statements")
    if not changes:
        raise invalid("DDL: no statements")
    return changes
