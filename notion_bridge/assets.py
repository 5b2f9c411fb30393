"""Where the unpacked extension is, and ``notion-bridge extension-path``.

An installed wheel carries the extension inside this package (``notion_bridge/extension``); a checkout keeps it
at the top of the tree (``extension/``), which is also what an editable install uses.
"""

from __future__ import annotations

import argparse
from pathlib import Path

PACKAGED = Path(__file__).resolve().parent / "extension"
CHECKOUT = Path(__file__).resolve().parents[1] / "extension"


def extension_dir() -> Path:
    """The folder to load unpacked in chrome://extensions: the one holding the extension's manifest.json."""
    for folder in (PACKAGED, CHECKOUT):
        if (folder / "manifest.json").is_file():
            return folder
    raise FileNotFoundError(
        f"the extension is missing from this installation (looked in {PACKAGED} and {CHECKOUT}); "
        "reinstall the package"
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser  # nothing to choose


def run(args: argparse.Namespace) -> int:
    del args
    print(extension_dir())
    return 0
