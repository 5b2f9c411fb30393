"""The ``notion-bridge`` command: one entry point, one module per subcommand.

Each subcommand module exposes ``add_arguments(parser)`` and ``run(args) -> int`` (or ``add_arguments_for`` and
``run_for`` when one module serves several subcommands). Only the chosen module is imported, so
``notion-bridge install`` never pays for the MCP SDK.
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: subcommand -> (module, one-line help)
SUBCOMMANDS: dict[str, tuple[str, str]] = {
    "host": ("host.commands.host", "run the native-messaging host (what the browser starts)"),
    "probe": ("host.commands.probe", "connect to one MCP server, list its tools, optionally call one"),
    "import": (
        "host.commands.importing",
        "add the servers of Claude Desktop's, Cursor's or VS Code's configuration",
    ),
    "demo": ("devkit.demo", "start the sample servers and walk through the bridge end to end"),
    "sqlite-server": ("host.sqlite_server.command", "run the built-in SQLite MCP server over stdio"),
    "dev-notion": ("dev_notion.command", "run the local Notion-compatible MCP server (tests and demo)"),
    "install": ("installer.commands", "register the host with every Chromium-family browser found"),
    "uninstall": ("installer.commands", "remove exactly what install wrote"),
    "doctor": ("installer.commands", "check the installation and say what is wrong and how to fix it"),
    "extension-path": (
        "notion_bridge.assets",
        "print the folder to load in chrome://extensions (Load unpacked)",
    ),
    "pack-extension": ("notion_bridge.pack", "write the zip the Chrome Web Store takes"),
    "logs": ("notion_bridge.logs", "show the host's logs, newest first, with secrets hidden"),
}


def build_parser(chosen: str | None) -> argparse.ArgumentParser:
    """The parser, with arguments for the chosen subcommand only: other modules are never imported."""
    from host import __version__

    parser = argparse.ArgumentParser(prog="notion-bridge", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"notion-bridge {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in SUBCOMMANDS.items():
        sub_parser = sub.add_parser(name, help=help_text, description=help_text)
        sub_parser.set_defaults(_module=module_name)
        if name != chosen:
            continue
        module = importlib.import_module(module_name)
        if hasattr(module, "add_arguments_for"):
            module.add_arguments_for(name, sub_parser)
        else:
            module.add_arguments(sub_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    chosen = next((arg for arg in argv if not arg.startswith("-")), None)
    args = build_parser(chosen).parse_args(argv)
    module = importlib.import_module(args._module)
    if hasattr(module, "run_for"):
        return int(module.run_for(args.command, args) or 0)
    return int(module.run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
