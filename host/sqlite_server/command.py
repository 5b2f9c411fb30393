"""``notion-bridge sqlite-server --db PATH [--create-sample] [--allow-writes] [--max-rows N]
[--max-result-bytes N] [--statement-timeout-s S] [--query-log FILE]``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

# The defaults come from their own module, so that --help imports nothing of the server.
from host.sqlite_server.limits import DEFAULT_MAX_RESULT_BYTES, DEFAULT_STATEMENT_TIMEOUT_S


def _positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, not {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, type=Path, help="the SQLite database file")
    parser.add_argument("--allow-writes", action="store_true", help="offer write_query and create_table")
    parser.add_argument(
        "--max-rows", type=int, default=1000, help="most rows read_query returns (default 1000)"
    )
    parser.add_argument(
        "--max-result-bytes",
        type=_positive_int,
        default=DEFAULT_MAX_RESULT_BYTES,
        metavar="N",
        help="most bytes a read_query result holds, and the largest single value any statement may build "
        f"(default {DEFAULT_MAX_RESULT_BYTES}, 4 MiB)",
    )
    parser.add_argument(
        "--statement-timeout-s",
        type=_positive_float,
        default=DEFAULT_STATEMENT_TIMEOUT_S,
        metavar="S",
        help=f"stop any statement that runs longer than S seconds (default {DEFAULT_STATEMENT_TIMEOUT_S:g})",
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
    db: Path = args.db.expanduser().resolve()
    if not db.exists():
        if not args.create_sample:
            print(f"sqlite-server: no database at {db}", file=sys.stderr)
            return 2
        from host.sqlite_server.sample import create_sample_database

        create_sample_database(db)
    from host.sqlite_server.server import build_server

    build_server(
        db,
        allow_writes=args.allow_writes,
        max_rows=args.max_rows,
        query_log=args.query_log,
        max_result_bytes=args.max_result_bytes,
        statement_timeout_s=args.statement_timeout_s,
    ).run()
    return 0
