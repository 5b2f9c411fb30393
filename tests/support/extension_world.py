"""A browser with the real extension, a host installed for it, Notion-compatible servers and a scripted model:
the world the Notion browser tests act in, and the steps they share (the popup, the panel, the forms)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from dev_notion.testing import DevNotionProcess
from devkit.browser import card_text, chromium, extension_page, install_host, wait_until
from devkit.host_process import write_config
from tests.support.scripted_llm import ScriptedLLM


@dataclass
class World:
    driver: Any
    home: Path
    notions: list[DevNotionProcess]
    llm: ScriptedLLM
    handles: dict[str, str] = field(default_factory=dict)
    next_tab: int = 100
    """Tab ids for panels of their own (a panel binds to its tab's conversation)."""

    @property
    def notion(self) -> DevNotionProcess:
        return self.notions[0]


def notion_entry(server: DevNotionProcess, server_id: str = "notion", **fields: Any) -> dict[str, Any]:
    entry = {"id": server_id, "name": "Notion", "kind": "remote", "url": server.mcp_url}
    if server.auth:
        entry["enabled"] = False  # signed in from the popup, as a person would
    return {**entry, **fields}


@contextmanager
def world(
    tmp_path: Path,
    notions: list[dict[str, Any]],
    *,
    sqlite: bool = False,
    entries: int | None = None,
) -> Iterator[World]:
    """Start the servers (``notions``: DevNotionProcess options each), write a configuration with the first
    ``entries`` of them (all by default) and the sample SQLite database, install the host and open Chromium."""
    profile, home = tmp_path / "profile", tmp_path / "home"
    with ExitStack() as stack:
        llm = stack.enter_context(ScriptedLLM())
        servers = [stack.enter_context(DevNotionProcess(**options)) for options in notions]
        configured = [
            notion_entry(s, "notion" if i == 0 else f"notion-{i + 1}") for i, s in enumerate(servers)
        ]
        configured = configured[: len(servers) if entries is None else entries]
        if sqlite:
            configured.append({"id": "sqlite", "name": "SQLite (sample)", "kind": "stdio", "builtin": "sqlite",
                               "db_path": str(home / "data" / "sample.db")})  # fmt: skip
        write_config(home, configured, llm={"base_url": llm.base_url, "model": "scripted"})
        install_host(profile, home, token_store="file")
        driver = stack.enter_context(chromium(profile))
        yield World(driver, home, servers, llm)


def open_popup(world: World) -> None:
    driver = world.driver
    if "popup" not in world.handles:
        world.handles["popup"] = driver.current_window_handle  # the browser's first tab
    driver.switch_to.window(world.handles["popup"])
    driver.get(extension_page("popups/popup.html"))
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "[data-server]"), "the cards")


def consent(world: World, button: str = "allow") -> None:
    """Press Allow (or Deny) in the sign-in window chrome.identity opened, and come back to the popup."""
    driver = world.driver
    known = set(world.handles.values())
    wait_until(lambda: set(driver.window_handles) - known, "the consent window to open")
    driver.switch_to.window(next(h for h in driver.window_handles if h not in known))
    wait_until(lambda: driver.find_elements(By.ID, button), "the consent page")
    driver.find_element(By.ID, button).click()
    driver.switch_to.window(world.handles["popup"])


def sign_in(world: World, server_id: str = "notion") -> None:
    open_popup(world)
    driver = world.driver
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, f'[data-server="{server_id}"] .connect'), "the card"
    )
    driver.find_element(By.CSS_SELECTOR, f'[data-server="{server_id}"] .connect').click()
    consent(world)
    wait_until(lambda: "Connected" in card_text(driver, server_id), f"{server_id} to connect", 60)


def open_panel(world: World, tab: int = 1) -> None:
    """The chat panel as a tab, at the address Chrome's side panel gives it (Selenium cannot enter a side panel)."""
    driver = world.driver
    if "panel" not in world.handles:
        driver.switch_to.new_window("tab")
        world.handles["panel"] = driver.current_window_handle
    driver.switch_to.window(world.handles["panel"])
    driver.get(extension_page(f"panel/panel.html?tab={tab}"))
    wait_until(lambda: driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready"), "the panel")


def choose(driver: Any, css: str, text: str, root: Any = None) -> None:
    """Pick an option by its text, once it is there; found afresh each try, as forms redraw their lists."""

    def pick() -> bool:
        Select((root or driver).find_element(By.CSS_SELECTOR, css)).select_by_visible_text(text)
        return True

    wait_until(pick, f"the option {text!r} in {css}")


def open_form(world: World, action: str) -> None:
    """Open the panel's Notion forms on one of them (its title, e.g. "Query a database")."""
    driver = world.driver
    if driver.find_element(By.ID, "forms").get_attribute("hidden") is not None:
        driver.find_element(By.ID, "open-forms").click()
    choose(driver, "#form-action", action)


def problem_text(driver: Any) -> str:
    node = driver.find_element(By.ID, "problem")
    return str(node.text) if node.is_displayed() else ""


def form_rows(driver: Any) -> list[str]:
    """The titles in the form's result table, in order."""
    return [
        td.text
        for td in driver.find_elements(By.CSS_SELECTOR, "#form-area table.nf-rows tbody tr td:first-child")
    ]
