"""``notion-bridge demo``: the whole bridge on this machine, with nothing to sign up for.

Starts the Notion-compatible server (sample workspace, OAuth with a consent page) and the sample SQLite
database in a throw-away home folder, then starts the host exactly as the browser does and walks through
it: hello, status, signing in to "Notion" (the demo presses Allow on the consent page, as a person would in
the extension's sign-in window), then tools from both servers.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import threading
import time
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", type=Path, help="keep the demo's files here instead of a temporary folder")
    parser.add_argument(
        "--browser",
        choices=["auto", "on", "off"],
        default="auto",
        help="also walk through the extension in Chromium: auto = when Chromium and selenium are installed",
    )
    parser.add_argument("--screenshots", type=Path, help="where the browser walk saves its screenshots")


def run(args: argparse.Namespace) -> int:
    if args.home is not None:
        args.home.mkdir(parents=True, exist_ok=True)
        return _demo(args.home.resolve(), args)
    with tempfile.TemporaryDirectory(prefix="notion-bridge-demo-") as home:
        return _demo(Path(home), args)


def _say(text: str) -> None:
    print(text, flush=True)


def _demo(home: Path, args: argparse.Namespace) -> int:
    from dev_notion.testing import DevNotionProcess, answer_consent
    from devkit.host_process import HostProcess, write_config

    _say("Starting the Notion-compatible server (sample workspace 'Acme Corp', OAuth on)…")
    with DevNotionProcess(auth=True, workspace_name="Acme Corp") as notion:
        _say(f"  {notion.mcp_url}")
        write_config(
            home,
            [
                {"id": "notion", "name": "Notion", "kind": "remote", "url": notion.mcp_url, "enabled": False},
                {
                    "id": "sqlite",
                    "name": "SQLite (sample)",
                    "kind": "stdio",
                    "builtin": "sqlite",
                    "db_path": str(home / "data" / "sample.db"),
                },
            ],
        )
        _say("Starting the host as the browser would (python -m host chrome-extension://…/)…")
        host = HostProcess(home, env={"NOTION_BRIDGE_TOKEN_STORE": "file"}, heartbeat_s=15)
        try:
            status = _walk(host, notion, answer_consent)
        finally:
            host.close()
        if status != 0 or args.browser == "off":
            return status
        missing = _browser_missing()
        if missing:
            if args.browser == "on":
                _say(f"\nThe browser walk needs {missing}.")
                return 1
            _say(f"\n(Skipping the walk through the extension in Chromium: it needs {missing}.)")
            return 0
        folder = (args.screenshots or (Path.cwd() / "demo-screenshots")).resolve()
        return _browser_walk(home, notion, folder)


def _walk(host: Any, notion: Any, answer_consent: Any) -> int:
    host.wait_for(lambda e: e["type"] == "status")
    assert host.first_frame_at is not None
    _say(f"  hello after {(host.first_frame_at - host.started_at) * 1000:.0f} ms: {host.frames[0]}")
    host.result("hello", profile_id="demo-profile-0001")
    sqlite = host.wait_state("sqlite", "connected", timeout=30)
    _say(f"  SQLite (sample): {sqlite['state']}, {sqlite['tools']} tools over {sqlite['transport']}")

    _say("\nConnecting Notion: the host runs OAuth and asks the extension to open the consent page…")

    def press_allow() -> None:
        event = host.wait_for(lambda e: e["type"] == "auth.open", timeout=30)
        _say(f"  consent page: {event['url'][:90]}…")
        redirect = answer_consent(event["url"], "allow")
        _say("  pressed Allow")
        host.result("auth.result", auth_id=event["auth_id"], redirect_url=redirect)

    threading.Thread(target=press_allow, daemon=True).start()
    entry = host.result("server.connect", server="notion", timeout=60)
    _say(f"  {entry['name']}: {entry['state']}, {entry['tools']} tools over {entry['transport']}")

    _say("\nSQLite: how many users are there, per team?")
    rows = host.result(
        "tool.call",
        server="sqlite",
        tool="read_query",
        arguments={
            "query": "SELECT teams.name AS team, COUNT(*) AS users FROM users JOIN teams ON teams.id = users.team_id "
            "GROUP BY teams.name ORDER BY users DESC"
        },
    )
    _say(_indent(rows["content"][0]["text"]))

    _say("\nNotion: find the Reading List, read its schema, then its five best-rated books by SQL.")
    found = host.result(
        "tool.call", server="notion", tool="notion-search", arguments={"query": "reading list"}
    )
    hit = next(r for r in json.loads(found["content"][0]["text"])["results"] if r["type"] == "database")
    fetched = host.result("tool.call", server="notion", tool="notion-fetch", arguments={"id": hit["url"]})
    source = re.search(
        r'<data-source url="\{\{(collection://[^}]+)\}\}">', json.loads(fetched["content"][0]["text"])["text"]
    )
    assert source, "the database names its data source"
    table = source.group(1)
    started = time.perf_counter()
    books = host.result(
        "tool.call",
        server="notion",
        tool="notion-query-data-sources",
        arguments={
            "data": {
                "data_source_urls": [table],
                "query": f'SELECT "Name", "Author", "Rating" FROM "{table}" WHERE "Rating" >= ? '
                'ORDER BY "Rating" DESC, "Name" LIMIT 5',
                "params": [4],
            }
        },
    )
    elapsed = (time.perf_counter() - started) * 1000
    for row in json.loads(books["content"][0]["text"])["results"]:
        _say(f"  {row['Rating']:g}★  {row['Name']} — {row['Author']}")
    _say(f"  (round trip through the host: {elapsed:.1f} ms)")

    stats = notion.admin("stats")
    _say(f"\nThe server saw: {json.dumps(stats['oauth'])}")
    _say("Done. Install for real use with `notion-bridge install` (README: Installing for real use).")
    return 0


def _browser_missing() -> str | None:
    import importlib.util
    import shutil

    if importlib.util.find_spec("selenium") is None:
        return "selenium (pip install -e '.[demo]')"
    if not (shutil.which("chromium") and shutil.which("chromedriver")):
        return "Chromium and its driver (e.g. apt install chromium chromium-driver)"
    return None


def _browser_walk(home: Path, notion: Any, folder: Path) -> int:
    """The same walk through the real extension: popup, Connect, the consent window, a tool run."""
    import os

    from selenium.webdriver.common.by import By

    from devkit.browser import (
        card_text,
        chromium,
        extension_page,
        screenshot,
        sign_in_from_popup,
        wait_until,
    )
    from installer import browsers
    from installer.install import Options, install

    headed = bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    _say(f"\nNow through the extension, in Chromium ({'a window' if headed else 'headless'})…")
    profile = home / "chromium-profile"
    install(browsers.Environment.current(), Options(browsers=["chromium"], user_data_dir=profile, home=home))

    with chromium(profile, headed=headed) as driver:
        driver.get(extension_page("popups/popup.html"))
        wait_until(lambda: "Connected" in card_text(driver, "sqlite"), "SQLite to connect")
        _say(f"  popup: {screenshot(driver, '1-popup', folder)}")
        sign_in_from_popup(driver, "notion", "allow", shots=folder, shot_name="2-consent")
        _say(f"  consent window: {folder / '2-consent.png'}")
        wait_until(lambda: "Connected" in card_text(driver, "notion"), "Notion to connect")
        _say(f"  connected: {screenshot(driver, '3-connected', folder)}")
        driver.get(extension_page("popups/tools.html?server=notion&tool=notion-search"))
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="query"] input'), "the search form"
        )
        driver.find_element(By.CSS_SELECTOR, '[data-field="query"] input').send_keys("handbook")
        driver.find_element(By.ID, "run").click()
        wait_until(
            lambda: "Engineering Handbook" in driver.find_element(By.ID, "result").text, "the search result"
        )
        _say(f"  a Notion search from the tool runner: {screenshot(driver, '4-tool-result', folder)}")
    _say("Done.")
    return 0


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())
