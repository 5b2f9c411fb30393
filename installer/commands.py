"""argparse wiring for ``install``, ``uninstall`` and ``doctor``; all three take --browser, --user-data-dir,
--system and --home, so each can be pointed at exactly what another one did."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from installer import browsers as b
from installer.acl import FolderAcl
from installer.errors import InstallError
from installer.install import Options
from installer.registry import Registry


def add_arguments_for(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--browser",
        action="append",
        choices=[browser.key for browser in b.BROWSERS],
        default=[],
        help="only this browser (repeatable); default: every Chromium-family browser found",
    )
    parser.add_argument(
        "--user-data-dir",
        type=Path,
        metavar="DIR",
        help="one profile folder, as given to the browser's own --user-data-dir (Linux and macOS)",
    )
    parser.add_argument(
        "--system",
        action="store_true",
        help="machine-wide for every user instead of for you (needs root/admin)",
    )
    home_help = {
        "install": "make the host keep its files in DIR: baked into the launcher as NOTION_BRIDGE_HOME",
        "uninstall": "the --home the installation was made with",
        "doctor": "the --home the installation was made with",
    }[name]
    parser.add_argument("--home", type=Path, metavar="DIR", help=home_help)
    if name == "install":
        parser.add_argument(
            "--extension-id",
            action="append",
            default=[],
            metavar="ID",
            help="also let this extension ID start the host (repeatable), e.g. a build loaded from another folder",
        )
    if name == "doctor":
        parser.add_argument(
            "--json",
            action="store_true",
            help="JSON output, safe to paste into a bug report (home and secrets hidden)",
        )


def options_from(args: argparse.Namespace) -> Options:
    def absolute(path: Path | None) -> Path | None:
        return path.expanduser().resolve() if path is not None else None

    return Options(
        browsers=list(args.browser),
        user_data_dir=absolute(args.user_data_dir),
        system=args.system,
        extension_ids=list(getattr(args, "extension_id", None) or []),
        home=absolute(args.home),
    )


def _registry(env: b.Environment) -> Registry | None:
    if env.platform != "win32":
        return None
    from installer.registry import WindowsRegistry

    return WindowsRegistry()


def _acl(env: b.Environment) -> FolderAcl | None:
    if env.platform != "win32":
        return None
    from installer.acl import WindowsAcl

    return WindowsAcl()


def run_for(name: str, args: argparse.Namespace) -> int:
    env = b.Environment.current()
    options = options_from(args)
    try:
        if name == "install":
            return _install(env, options)
        if name == "uninstall":
            from installer.uninstall import uninstall

            for line in uninstall(env, options, _registry(env)):
                print(line)
            return 0
        return _doctor(env, options, as_json=args.json)
    except InstallError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _install(env: b.Environment, options: Options) -> int:
    from host import EXTENSION_ID
    from installer.install import install
    from notion_bridge.assets import extension_dir

    for line in install(env, options, _registry(env), _acl(env)):
        print(line)
    print(
        "\nNext, load the extension: open chrome://extensions (edge://extensions, brave://extensions, …), switch "
        f"on Developer mode, press Load unpacked and choose this folder:\n  {extension_dir()}\n"
        f"The extension's ID must be {EXTENSION_ID}. Then check everything with `notion-bridge doctor`."
    )
    return 0


def _doctor(env: b.Environment, options: Options, *, as_json: bool) -> int:
    from installer.doctor import report, run_doctor

    checks = run_doctor(env, options, _registry(env), _acl(env))
    print(report(checks, as_json=as_json, home=env.home))
    return 1 if any(check.status == "fail" for check in checks) else 0
