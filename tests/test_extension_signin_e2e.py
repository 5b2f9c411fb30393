"""Every sign-in variant through the real extension in Chromium: the server added in the options page (with its
pre-registered client's secret where it has one), Connect pressed in the popup, the consent window opened by
chrome.identity.launchWebAuthFlow and ending at the extension's redirect, the card turning Connected; a step-up
from the tool runner; and the iss refusals in words. The servers are tests/support/auth_server.py's variants,
which consent at once, as a server the person already trusts does.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from devkit.browser import card_text, chromium, extension_page, install_host, screenshot, wait_until
from devkit.host_process import write_config
from host.config import DEFAULT_CLIENT_METADATA_URL
from tests.support.auth_server import PRE_REGISTERED, AuthServerProcess

CONNECTING = [
    "dcr",
    "basic",
    "post",
    "legacy",
    "legacy-bare",
    "scope-header",
    "scope-prm",
    "scope-none",
    "cimd",
    "iss",
]


@pytest.fixture
def browser(tmp_path: Path):
    profile, home = tmp_path / "profile", tmp_path / "home"
    write_config(home, [])
    install_host(profile, home, token_store="file")
    with chromium(profile) as driver:
        yield driver, home


def add_in_options(driver, variant: str, url: str) -> None:
    driver.get(extension_page("options/options.html"))
    wait_until(lambda: "connected" in driver.find_element(By.ID, "host").text, "the host")
    editor = driver.find_element(By.ID, "editor")
    editor.find_element(By.NAME, "name").send_keys(f"Sign-in {variant}")
    editor.find_element(By.NAME, "url").send_keys(url)
    if variant in PRE_REGISTERED:
        client_id, secret = PRE_REGISTERED[variant]
        editor.find_element(By.NAME, "client_id").send_keys(client_id)
        editor.find_element(By.NAME, "client_secret").send_keys(secret)
    editor.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, f'#servers tr[data-server="sign-in-{variant}"]'),
        "the server listed",
    )


def connect_in_popup(driver, server_id: str) -> None:
    driver.get(extension_page("popups/popup.html"))

    def press() -> bool:
        # The cards are drawn again on every status: a button found a moment ago may be gone (wait_until retries).
        button = driver.find_element(By.CSS_SELECTOR, f'[data-server="{server_id}"] .connect')
        if not button.is_displayed():
            return False
        button.click()
        return True

    wait_until(press, "Connect pressed")


@pytest.mark.parametrize("variant", CONNECTING)
def test_connect_through_the_extension(browser, variant: str) -> None:
    driver, home = browser
    with AuthServerProcess(variant) as server:
        add_in_options(driver, variant, server.url)
        server_id = f"sign-in-{variant}"
        connect_in_popup(driver, server_id)
        wait_until(lambda: "Connected" in card_text(driver, server_id), f"{variant} to connect", 60)
        stats = server.stats()
        assert len(stats["authorizations"]) == 1
        first = stats["authorizations"][0]
        assert first["redirect_uri"].startswith(
            "https://aikfhgidlkadhpijaojkkpakcdplakaf.chromiumapp.org/oauth/"
        )
        if variant == "cimd":
            assert first["client_id"] == DEFAULT_CLIENT_METADATA_URL and stats["registrations"] == 0
        if variant in PRE_REGISTERED:
            exchange = stats["token_requests"][0]
            assert exchange["basic"] is (variant == "basic") and exchange["secret_in_body"] is (
                variant == "post"
            )
            assert PRE_REGISTERED[variant][1] not in (home / "config" / "config.json").read_text()
        screenshot(driver, f"signin-{variant}")

        driver.get(extension_page(f"popups/tools.html?server={server_id}&tool=echo"))
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, '[data-field="text"] input'), "the echo form"
        )
        driver.find_element(By.CSS_SELECTOR, '[data-field="text"] input').send_keys("signed in")
        driver.find_element(By.ID, "run").click()
        wait_until(lambda: "signed in" in driver.find_element(By.ID, "result").text, "the call")


def test_step_up_from_the_tool_runner(browser) -> None:
    driver, _ = browser
    with AuthServerProcess("step-up") as server:
        add_in_options(driver, "step-up", server.url)
        connect_in_popup(driver, "sign-in-step-up")
        wait_until(lambda: "Connected" in card_text(driver, "sign-in-step-up"), "the first sign-in", 60)
        driver.get(extension_page("popups/tools.html?server=sign-in-step-up&tool=admin_only"))
        wait_until(
            lambda: driver.find_element(By.ID, "tool").get_attribute("value") == "admin_only", "the form"
        )
        driver.find_element(By.ID, "run").click()
        wait_until(
            lambda: "admin things done" in driver.find_element(By.ID, "result").text,
            "the stepped-up call",
            60,
        )
        assert [a["scope"] for a in server.stats()["authorizations"]] == ["read write", "read write admin"]

        driver.execute_script(
            "const s = document.getElementById('tool'); s.value = 'root_only'; s.dispatchEvent(new Event('change'));"
        )
        driver.find_element(By.ID, "run").click()
        wait_until(
            lambda: "needs a permission that was not granted" in driver.find_element(By.ID, "result").text,
            "the refusal in words",
            60,
        )
        driver.find_element(By.ID, "run").click()
        wait_until(lambda: not driver.find_element(By.ID, "run").get_attribute("disabled"), "the second try")
        wait_until(
            lambda: "not granted" in driver.find_element(By.ID, "result").text, "the second refusal", 60
        )
        assert len(server.stats()["authorizations"]) == 3, "one more sign-in for root, never a loop"


@pytest.mark.parametrize(
    ("variant", "words"),
    [("iss-missing", "lacks the issuer"), ("iss-wrong", "names another authorization server")],
)
def test_a_wrong_issuer_is_refused_in_words(browser, variant: str, words: str) -> None:
    driver, _ = browser
    with AuthServerProcess(variant) as server:
        add_in_options(driver, variant, server.url)
        connect_in_popup(driver, f"sign-in-{variant}")
        wait_until(lambda: "Needs auth" in card_text(driver, f"sign-in-{variant}"), "the refusal", 60)
        assert words in card_text(driver, f"sign-in-{variant}")
        assert server.stats()["token_requests"] == []
