"""``notion-bridge host [ORIGIN]``: the native-messaging host, as ``python -m host`` runs it."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("origin", nargs="*", help="the caller's origin, as the browser passes it")


def run(args: argparse.Namespace) -> int:
    from host.__main__ import main

    return main(list(args.origin))
