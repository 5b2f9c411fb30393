"""``notion-bridge sqlite-server --db PATH [--allow-writes] [--max-rows N]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, type=Path, help="the SQLite database file")
    parser.add_argument("--allow-writes", action="store_true", help="offer write_query and create_table")
    parser.add_argument(
        "--max-rows", type=int, default=1000, help="most rows read_query returns (default 1000)"
    )
    parser.add_argument(
        "--query-log",
        type=Path,
        metavar="FILE",
        help="append every statement a caller asks to run, as a JSON line, to FILE first (an audit trail)",
    )
    parser.add_argument(
        "--create-sample", action="store_true", help="create the sample database at --db if it does not exist"
    )


def run(args: argparse.Namespace) -> int:
    # stdout is the MCP stream: everything human goes to stderr.
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="sqlite-server: %(message)s")
    from host import paths
    from host.sqlite_server.sample import create_sample_database

    db: Path = args.db.expanduser().resolve()
    if not db.exists():
        if args.create_sample or db == paths.sample_database():
            create_sample_database(db)
        else:
            print(f"sqlite-server: no database at {db}", file=sys.stderr)
            return 2
    from host.sqlite_server.server import build_server

    build_server(db, allow_writes=args.allow_writes, max_rows=args.max_rows, query_log=args.query_log).run(
        "stdio"
    )
    return 0
