"""docs/protocol.md's tables and docs/protocol.schema.json, generated from the protocol's own definitions.

    python -m host.protocol.export           write both
    python -m host.protocol.export --check   exit 1 if either is out of date (the test suite runs this check)

The prose of docs/protocol.md is written by hand; the blocks between ``<!-- generated: NAME -->`` and
``<!-- end generated -->`` are this module's. The JSON Schema holds every request, every result and every message
the host sends, each a self-contained schema; the extension's node tests check what it sends and expects against
it (extension/tests/protocol.test.mjs), so both sides follow one definition.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Annotated, Any, Union

from pydantic import ConfigDict, Field, TypeAdapter

from host import PROTOCOL_VERSION
from host.errors import MEANINGS, ErrorCode
from host.protocol.events import EVENTS, ServerStatus
from host.protocol.verbs import VERBS, Verb
from host.protocol.wire import OUTGOING, Outgoing

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "protocol.md"
SCHEMA = ROOT / "docs" / "protocol.schema.json"

_DOCSTRINGS = ConfigDict(use_attribute_docstrings=True)
_BLOCK = re.compile(r"(<!-- generated: (\w+) -->\n)(.*?)(<!-- end generated -->)", re.S)


def _verbs() -> dict[str, Verb]:
    import host.actions  # noqa: F401  (fills the table)

    return VERBS


# --- schemas -------------------------------------------------------------------------------------------------


def _adapter(kind: Any) -> TypeAdapter[Any]:
    """A schema maker that reads attribute docstrings as descriptions, on dataclasses and TypedDicts too."""
    for cls in _classes_in(kind):
        if not hasattr(cls, "__pydantic_config__") and not hasattr(cls, "model_config"):
            setattr(cls, "__pydantic_config__", _DOCSTRINGS)  # noqa: B010  (what pydantic.with_config does)
    return TypeAdapter(kind)


def _classes_in(kind: Any) -> list[type]:
    """The dataclasses and TypedDicts a type is made of, nested ones included."""
    import dataclasses
    import typing

    found: list[type] = []
    stack = [kind]
    while stack:
        current = stack.pop()
        is_shape = dataclasses.is_dataclass(current) or typing.is_typeddict(current)
        if isinstance(current, type) and is_shape and current not in found:
            found.append(current)
            stack.extend(typing.get_type_hints(current).values())
        stack.extend(typing.get_args(current))
    return found


def request_schema(verb: Verb) -> dict[str, Any]:
    return verb.request.model_json_schema()


def result_schema(verb: Verb) -> dict[str, Any]:
    return _adapter(verb.result_type()).json_schema()


def outgoing_schema(kind: type[Outgoing]) -> dict[str, Any]:
    schema = _adapter(kind).json_schema()
    schema["properties"] = {"type": {"const": kind.TYPE}, **schema.get("properties", {})}
    schema["required"] = ["type", *schema.get("required", [])]
    # Optional fields left unset are not sent at all, rather than sent as null.
    for name, prop in schema["properties"].items():
        if name not in schema["required"] and name not in kind.KEEP_NONE:
            schema["properties"][name] = _without_null(prop)
    return schema


def _without_null(prop: dict[str, Any]) -> dict[str, Any]:
    options = prop.get("anyOf")
    if not options:
        return prop
    kept = [o for o in options if o != {"type": "null"}]
    rest = {k: v for k, v in prop.items() if k not in ("anyOf", "default")}
    return {**kept[0], **rest} if len(kept) == 1 else {"anyOf": kept, **rest}


def schema_document() -> dict[str, Any]:
    verbs = _verbs()
    union: Any = Union[tuple(v.request for v in verbs.values())]  # noqa: UP007  (built from the table)
    requests: Any = Annotated[union, Field(discriminator="type")]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Notion MCP Bridge: extension ⇄ host protocol",
        "protocol": PROTOCOL_VERSION,
        "request": TypeAdapter(requests).json_schema(),
        "requests": {name: request_schema(verb) for name, verb in verbs.items()},
        "results": {name: result_schema(verb) for name, verb in verbs.items()},
        "messages": {name: outgoing_schema(kind) for name, kind in OUTGOING.items()},
        "error_codes": ErrorCode.all(),
    }


# --- docs ----------------------------------------------------------------------------------------------------


def _type_words(schema: dict[str, Any], defs: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        target = defs.get(name, {})
        return name if "properties" in target else _type_words(target, defs)
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return "\\|".join(json.dumps(v) for v in schema["enum"])
    options = schema.get("anyOf") or schema.get("oneOf")
    if options:
        words = [_type_words(o, defs) for o in options if o.get("type") != "null"]
        return " or ".join(dict.fromkeys(words)) or "null"
    kind = schema.get("type")
    if kind == "array":
        return f"[{_type_words(schema.get('items', {}), defs)}]"
    if kind == "object":
        return "object"
    return str(kind or "any")


def _fields(schema: dict[str, Any], skip: tuple[str, ...] = ()) -> str:
    defs = schema.get("$defs", {})
    required = set(schema.get("required", []))
    parts = []
    for name, prop in schema.get("properties", {}).items():
        if name in skip:
            continue
        optional = "" if name in required else "?"
        words = f"`{name}`{optional}: {_type_words(prop, defs)}"
        if prop.get("description"):
            words += f" — {_one_line(prop['description'])}"
        parts.append(words)
    return "<br>".join(parts) or "—"


def _result_words(schema: dict[str, Any]) -> str:
    if "properties" in schema:
        required = set(schema.get("required", []))
        keys = [f"{k}" + ("" if k in required else "?") for k in schema["properties"]]
        return "`{" + ", ".join(keys) + "}`"
    return f"`{_type_words(schema, schema.get('$defs', {}))}`"


def _one_line(text: str) -> str:
    """Docstring text as one Markdown table cell: ``code`` (reStructuredText) becomes `code`."""
    return " ".join(text.split()).replace("``", "`").replace("|", "\\|")


def _requests_block() -> str:
    rows = ["| verb | what it does | fields | result |", "|---|---|---|---|"]
    for name, verb in _verbs().items():
        doc = _one_line(verb.request.__doc__ or "")
        fields = _fields(request_schema(verb), skip=("type", "id"))
        rows.append(f"| `{name}` | {doc} | {fields} | {_result_words(result_schema(verb))} |")
    return "\n".join(rows) + "\n"


def _events_block() -> str:
    rows = ["| type | when | fields |", "|---|---|---|"]
    for kind in EVENTS:
        doc = _one_line(kind.__doc__ or "")
        rows.append(f"| `{kind.TYPE}` | {doc} | {_fields(outgoing_schema(kind), skip=('type',))} |")
    return "\n".join(rows) + "\n"


def _shapes_block() -> str:
    """The objects requests and events carry (``NewServer``, ``ErrorInfo``, …), each with its fields."""
    shapes: dict[str, dict[str, Any]] = {}
    schemas = [request_schema(v) for v in _verbs().values()] + [outgoing_schema(k) for k in EVENTS]
    for schema in schemas:
        for name, definition in schema.get("$defs", {}).items():
            if "properties" in definition and name != "ServerStatus":
                shapes.setdefault(name, {**definition, "$defs": schema.get("$defs", {})})
    rows = ["| shape | fields |", "|---|---|"]
    for name, definition in shapes.items():
        doc = _one_line(definition.get("description", ""))
        rows.append(f"| `{name}` | {doc + '<br>' if doc else ''}{_fields(definition)} |")
    return "\n".join(rows) + "\n"


def _status_block() -> str:
    schema = _adapter(ServerStatus).json_schema()
    defs = schema.get("$defs", {})
    rows = ["| field | type | meaning |", "|---|---|---|"]
    for name, prop in schema["properties"].items():
        meaning = _one_line(prop.get("description", ""))
        rows.append(f"| `{name}` | {_type_words(prop, defs)} | {meaning} |")
    return "\n".join(rows) + "\n"


def _errors_block() -> str:
    rows = ["| code | meaning |", "|---|---|"]
    rows += [f"| `{code}` | {MEANINGS[code]} |" for code in ErrorCode.all()]
    return "\n".join(rows) + "\n"


BLOCKS = {
    "requests": _requests_block,
    "events": _events_block,
    "shapes": _shapes_block,
    "server_status": _status_block,
    "errors": _errors_block,
}


def render_docs(text: str) -> str:
    """``text`` with every generated block written afresh; raises if a block is unknown."""

    def fill(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            raise ValueError(f"docs/protocol.md names an unknown generated block {name!r}")
        return match.group(1) + BLOCKS[name]() + match.group(4)

    return _BLOCK.sub(fill, text)


def render_schema() -> str:
    return json.dumps(schema_document(), indent=1, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m host.protocol.export", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--check", action="store_true", help="fail when the committed files are out of date")
    args = parser.parse_args(argv)
    docs = render_docs(DOCS.read_text(encoding="utf-8"))
    schema = render_schema()
    stale = [
        path
        for path, fresh in ((DOCS, docs), (SCHEMA, schema))
        if not path.exists() or path.read_text(encoding="utf-8") != fresh
    ]
    if args.check:
        for path in stale:
            print(
                f"{path.relative_to(ROOT)} is out of date: run python -m host.protocol.export",
                file=sys.stderr,
            )
        return 1 if stale else 0
    for path, fresh in ((DOCS, docs), (SCHEMA, schema)):
        path.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
