"""``notion-bridge import FILE``: add the servers of another MCP client's configuration (host.importer).

    notion-bridge import ~/.config/Claude/claude_desktop_config.json
    notion-bridge import --yes --json .vscode/mcp.json
    notion-bridge import - < mcp.json

Shows what will be added (commands resolved to absolute paths; secrets named, never shown) and asks before
adding; ``--yes`` adds without asking, ``--dry-run`` only shows. Secrets go to the keychain the host uses. The
configuration is read by the host when the browser starts it: a browser already running picks the servers up
after the popup's Retry or a restart of the browser.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", help="the other client's configuration file (JSON), or - for standard input")
    parser.add_argument("--yes", "-y", action="store_true", help="add without asking")
    parser.add_argument("--dry-run", action="store_true", help="only show what would be added")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")


def run(args: argparse.Namespace) -> int:
    from host import config as configuration
    from host.errors import BridgeError
    from host.importer import plan

    try:
        text = (
            sys.stdin.read() if args.file == "-" else Path(args.file).expanduser().read_text(encoding="utf-8")
        )
    except OSError as exc:
        return _fail(args, f"cannot read {args.file}: {exc.strerror or exc}")
    try:
        planned = plan(text, configuration.load())
    except (BridgeError, configuration.ConfigError) as exc:
        return _fail(args, getattr(exc, "message", str(exc)))
    preview = [p.preview() for p in planned.servers]
    adding = planned.to_add()
    if not args.json:
        _show(preview, len(adding))
    if not adding or args.dry_run:
        if args.json:
            print(json.dumps({"format": planned.format, "servers": preview, "added": []}, indent=2))
        return 0
    if not args.yes:
        if not sys.stdin.isatty() or args.file == "-":
            return _fail(args, "nothing added: pass --yes to add without a question")
        answer = input(f"Add {len(adding)} server{'s' if len(adding) != 1 else ''}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing added.")
            return 1
    try:
        added = _apply(adding)
    except BridgeError as exc:
        return _fail(args, exc.message)
    if args.json:
        print(json.dumps({"format": planned.format, "servers": preview, "added": added}, indent=2))
    else:
        print(
            f"Added {', '.join(added)}. The browser's host picks them up when it next starts (the popup's Retry)."
        )
    return 0


def _apply(adding: list[Any]) -> list[str]:
    from host import config as configuration
    from host.errors import BridgeError, ErrorCode
    from host.server_secrets import ServerSecrets
    from host.token_store import TokenStore

    def add(config: configuration.Config) -> None:
        for item in adding:
            if config.server(item.config.id) is not None:
                raise BridgeError(
                    ErrorCode.SERVER_EXISTS, f"a server with id {item.config.id!r} already exists"
                )
            config.servers.append(item.config)

    configuration.update(add)
    secrets = ServerSecrets(TokenStore().backend)
    for item in adding:
        if item.headers or item.secret_env:
            secrets.update(item.config, headers=item.headers, env=item.secret_env, keep=False)
    return [item.config.id for item in adding]


def _show(preview: list[dict[str, Any]], count: int) -> None:
    for entry in preview:
        if entry.get("skipped"):
            print(f"  skip  {entry['name']}: {entry['skipped']}")
            continue
        where = entry.get("url") or " ".join(entry.get("command", []))
        print(f"  add   {entry['id']} ({entry['kind']}): {where}")
        secrets = entry.get("header_names") or entry.get("secret_env") or []
        if secrets:
            print(f"        kept in the keychain: {', '.join(secrets)}")
        for note in entry.get("notes", []):
            print(f"        note: {note}")
    print(f"{count} to add, {len(preview) - count} skipped.")


def _fail(args: argparse.Namespace, message: str) -> int:
    if args.json:
        print(json.dumps({"error": message}))
    else:
        print(f"import failed: {message}", file=sys.stderr)
    return 2
