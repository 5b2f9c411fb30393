"""argparse wiring for ``install``, ``uninstall`` and ``doctor``; they share --browser, --user-data-dir, --system."""

from __future__ import annotations

import argparse
from pathlib import Path

from installer import browsers as b
from installer.install import Options
from installer.registry import Registry


def add_arguments_for(name: str, parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--browser",
        action="append",
        choices=sorted(b.BY_KEY),
        default=[],
        help="only this browser (repeatable); default: every browser found",
    )
    parser.add_argument(
        "--user-data-dir", type=Path, help="a specific profile folder (Chromium's --user-data-dir)"
    )
    parser.add_argument("--system", action="store_true", help="machine-wide instead of for this user")
    if name == "install":
        parser.add_argument(
            "--extension-id", action="append", default=[], help="also allow this extension ID (repeatable)"
        )
        parser.add_argument(
            "--home", type=Path, help="make the host keep its files here (NOTION_BRIDGE_HOME)"
        )
    if name == "doctor":
        parser.add_argument(
            "--json", action="store_true", help="machine-readable output, safe for bug reports"
        )


def _options(args: argparse.Namespace) -> Options:
    return Options(
        browsers=list(args.browser),
        user_data_dir=args.user_data_dir.expanduser().resolve() if args.user_data_dir else None,
        system=args.system,
        extension_ids=list(getattr(args, "extension_id", []) or []),
        home=args.home.expanduser().resolve() if getattr(args, "home", None) else None,
    )


def _registry(env: b.Environment) -> Registry | None:
    if env.platform != "win32":
        return None
    from installer.registry import WindowsRegistry

    return WindowsRegistry()


def run_for(name: str, args: argparse.Namespace) -> int:
    from installer import doctor, install

    env = b.Environment.current()
    options = _options(args)
    if name == "install":
        for line in install.install(env, options, _registry(env)):
            print(line)
        print("Next: load extension/ unpacked in the browser, then run `notion-bridge doctor`.")
        return 0
    if name == "uninstall":
        for line in install.uninstall(_registry(env)):
            print(line)
        return 0
    checks = doctor.run_doctor(env, options)
    print(doctor.report(checks, as_json=args.json, home=env.home))
    return 1 if any(c.status == "fail" for c in checks) else 0
