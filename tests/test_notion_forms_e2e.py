"""The Notion forms in the chat panel, in Chromium, against the Notion-compatible server: listing databases, the
query builder and a pasted Notion API filter giving the same rows, a plan without queries, creating a page in a
data source, and two workspaces side by side (cards, the panel's choice, signing one out)."""

from __future__ import annotations

import json
import re

from selenium.webdriver.common.by import By

from devkit.browser import card_text, screenshot, wait_until
from host.token_store import EncryptedFileBackend
from tests.support.extension_world import (
    choose,
    consent,
    form_rows,
    open_form,
    open_panel,
    open_popup,
    problem_text,
    sign_in,
    world,
)

ACME = {"auth": True, "strict_redirects": True, "workspace_name": "Acme Corp", "workspace_icon": "🏢"}
GLOBEX = {"auth": True, "strict_redirects": True, "workspace_name": "Globex", "workspace_icon": "🌐"}


def tasks_source(server) -> str:
    found = server.call("notion-search", query="Tasks")["results"]
    database = next(r for r in found if r["type"] == "database" and r["title"] == "Tasks")
    text = server.call("notion-fetch", id=database["url"])["text"]
    return re.search(r'<data-source url="\{\{(collection://[^}]+)\}\}">', text).group(1)


def expected_in_progress(server) -> list[str]:
    source = tasks_source(server)
    rows = server.call(
        "notion-query-data-sources",
        data={"data_source_urls": [source], "params": ["In Progress"],
              "query": f'SELECT "Name" FROM "{source}" WHERE "Status" = ? ORDER BY "date:Due:start" DESC LIMIT 25'},
    )["results"]  # fmt: skip
    return [r["Name"] for r in rows]


def list_and_pick_tasks(driver) -> None:
    open_form_list = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=databases] .nf-run")
    open_form_list.click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, '#form-area tr[data-database="Tasks"]'), "the databases"
    )
    listed = driver.find_element(By.CSS_SELECTOR, "#form-area table.nf-databases").text
    assert "Tasks" in listed and "Roadmap" in listed and "Features, Bugs" in listed, listed
    assert "✅" in driver.find_element(By.CSS_SELECTOR, '#form-area tr[data-database="Tasks"]').text, (
        "its icon"
    )
    driver.find_element(By.CSS_SELECTOR, '#form-area tr[data-database="Tasks"] .nf-query-this').click()
    wait_until(
        lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-add-condition"), "the query builder"
    )


def run_query(driver) -> list[str]:
    before = len(driver.find_elements(By.CSS_SELECTOR, ".toolcard"))
    driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=query] .nf-run").click()
    wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".toolcard")) > before, "the query's card")
    wait_until(
        lambda: "Done" in driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text, "the query to finish"
    )
    wait_until(lambda: form_rows(driver), "the rows")
    return form_rows(driver)


def test_list_databases_then_query_tasks_by_the_builder_and_by_pasted_json(tmp_path):
    with world(tmp_path, [ACME]) as w:
        driver = w.driver
        sign_in(w)
        open_panel(w)
        open_form(w, "List databases")
        list_and_pick_tasks(driver)
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=query]")
        form.find_element(By.CSS_SELECTOR, ".nf-add-condition").click()
        condition = form.find_element(By.CSS_SELECTOR, ".nf-condition")
        choose(driver, "select[name=property]", "Status", condition)
        choose(driver, "select[name=operator]", "is", condition)
        choose(driver, "select[name=value]", "In Progress", condition)
        form.find_element(By.CSS_SELECTOR, ".nf-add-sort").click()
        choose(driver, ".nf-sort select[name=sort-property]", "Due", form)
        choose(driver, ".nf-sort select[name=sort-direction]", "descending", form)
        built = run_query(driver)
        expected = expected_in_progress(w.notion)
        assert built == expected and len(built) >= 5
        links = driver.find_elements(By.CSS_SELECTOR, "#form-area table.nf-rows tbody tr td:first-child a")
        assert links and all(a.get_attribute("href").startswith("https://app.notion.com/p/") for a in links)
        assert links[0].get_attribute("target") == "_blank"
        card = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text
        assert "notion-query-data-sources" in card and "Notion · Acme Corp" in card
        screenshot(driver, "forms-query-builder")

        form.find_element(By.CSS_SELECTOR, "input[name=use-json]").click()
        form.find_element(By.CSS_SELECTOR, "textarea[name=filter-json]").send_keys(
            '{"property": "Status", "status": {"equals": "In Progress"}}'
        )
        driver.execute_script("document.querySelector('#form-area .nf-output').replaceChildren()")
        assert run_query(driver) == expected, "the brief's JSON filter gives the same rows"
        built_args, pasted_args = [
            p.get_attribute("textContent")
            for p in driver.find_elements(By.CSS_SELECTOR, ".toolcard pre.args")[-2:]
        ]
        assert built_args == pasted_args, "both sent the same SQL"

        form.find_element(By.CSS_SELECTOR, "textarea[name=filter-json]").clear()
        form.find_element(By.CSS_SELECTOR, "textarea[name=filter-json]").send_keys(
            '{"property": "Status", "select": {"equals": "Done"}}'
        )
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(lambda: "is a status property" in problem_text(driver), "the filter's mistake in words")


def test_where_the_plan_offers_no_queries_the_form_says_so_and_searches_instead(tmp_path):
    with world(tmp_path, [{**ACME, "query_data_sources": "off"}]) as w:
        driver = w.driver
        sign_in(w)
        open_panel(w)
        open_form(w, "List databases")
        list_and_pick_tasks(driver)
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=query]")
        notice = form.find_element(By.CSS_SELECTOR, ".nf-notice").text
        assert "plan does not offer database queries" in notice and "searches within the database" in notice
        form.find_element(By.CSS_SELECTOR, ".nf-add-condition").click()
        condition = form.find_element(By.CSS_SELECTOR, ".nf-condition")
        choose(driver, "select[name=property]", "Name", condition)
        choose(driver, "select[name=operator]", "contains", condition)
        condition.find_element(By.CSS_SELECTOR, "[name=value]").send_keys("T-2")
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(lambda: form_rows(driver), "the pages the search found")
        assert all("T-2" in title for title in form_rows(driver))
        assert "Searched Tasks" in driver.find_element(By.CSS_SELECTOR, "#form-area .nf-count").text
        card = driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text
        assert "notion-search" in card and "notion-query-data-sources" not in card
        assert "Input validation" not in driver.find_element(By.TAG_NAME, "body").text, (
            "never a raw schema error"
        )
        assert w.notion.admin("stats")["calls"].get("notion-query-data-sources", 0) == 0
        screenshot(driver, "forms-search-instead")


def test_where_the_plan_refuses_sql_the_form_says_so_and_searches_instead(tmp_path):
    with world(tmp_path, [{**ACME, "query_data_sources": "available_with_limit"}]) as w:
        driver = w.driver
        sign_in(w)
        w.notion.admin("tool-access", sql_calls=0)
        open_panel(w)
        open_form(w, "List databases")
        list_and_pick_tasks(driver)
        driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=query] .nf-run").click()
        wait_until(
            lambda: "refused the query" in driver.find_element(By.CSS_SELECTOR, "#form-area .nf-output").text,
            "the refusal",
        )
        wait_until(lambda: form_rows(driver), "the search instead")
        assert (
            "Searching within the database instead"
            in driver.find_element(By.CSS_SELECTOR, "#form-area .nf-output").text
        )


def test_create_a_page_in_a_data_source_with_its_properties(tmp_path):
    with world(tmp_path, [ACME]) as w:
        driver = w.driver
        sign_in(w)
        open_panel(w)
        open_form(w, "Create a page")
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=create]")
        find = form.find_element(By.CSS_SELECTOR, "input[name=find]")
        find.send_keys("Tasks\n")
        choose(driver, "select[name=found]", "▦ Tasks", form)
        wait_until(
            lambda: form.find_elements(By.CSS_SELECTOR, '[data-property="Status"] select'), "the properties"
        )
        form.find_element(By.CSS_SELECTOR, "input[name=title]").send_keys("Write the release notes")
        choose(driver, '[data-property="Status"] select', "In Progress", form)
        choose(driver, '[data-property="Priority"] select', "High", form)
        driver.execute_script(
            "arguments[0].value = '2026-12-24'",
            form.find_element(By.CSS_SELECTOR, '[data-property="Due"] input'),
        )
        form.find_element(By.CSS_SELECTOR, '[data-property="Estimate"] input').send_keys("5")
        form.find_element(By.CSS_SELECTOR, '[data-property="Blocked"] input').click()
        choose(driver, '[data-property="Tags"] select', "docs", form)
        form.find_element(By.CSS_SELECTOR, "textarea[name=markdown]").send_keys("# Notes\nShip **on time**.")
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-created a"), "the new page's link"
        )
        url = driver.find_element(By.CSS_SELECTOR, "#form-area .nf-created a").get_attribute("href")
        page = w.notion.call("notion-fetch", id=url)
        assert page["title"] == "Write the release notes" and page["path"].endswith("Tasks")
        properties = page["text"].split("<properties>\n", 1)[1].split("\n</properties>", 1)[0]
        for fragment in ('"Status":"In Progress"', '"Priority":"High"', '"date:Due:start":"2026-12-24"', '"Estimate":5',
                         '"Blocked":"__YES__"', '"Tags":["docs"]'):  # fmt: skip
            assert fragment in properties, (fragment, properties)
        assert "# Notes\nShip **on time**." in page["text"]
        screenshot(driver, "forms-create-page")


def stored_servers(home) -> set[str]:
    """The server entries holding a sign-in in the token store."""
    backend = EncryptedFileBackend(home / "data")
    entries = backend._load() if (home / "data" / "tokens.enc").exists() else {}
    return {key.split("/", 1)[1] for key, value in entries.items() if json.loads(value).get("access_token")}


def test_two_workspaces_each_with_its_name_icon_and_sign_in(tmp_path):
    with world(tmp_path, [ACME, GLOBEX], entries=1) as w:
        driver = w.driver
        acme, globex = w.notions
        sign_in(w)
        # The second workspace comes from the popup's button, with its own entry, sign-in and registration.
        driver.find_element(By.ID, "add-workspace-open").click()
        url = driver.find_element(By.ID, "add-workspace-url")
        wait_until(lambda: url.get_attribute("value"), "the address to be filled in")
        assert url.get_attribute("value") == acme.mcp_url
        url.clear()
        url.send_keys(globex.mcp_url)
        driver.find_element(By.CSS_SELECTOR, "#add-workspace-form button[type=submit]").click()
        consent(w)
        wait_until(lambda: "Connected" in card_text(driver, "notion-2"), "the second card", 60)
        first, second = card_text(driver, "notion"), card_text(driver, "notion-2")
        assert "🏢" in first and "Notion · Acme Corp" in first
        assert "🌐" in second and "Notion · Globex" in second
        screenshot(driver, "popup-two-workspaces")
        assert (
            acme.admin("stats")["oauth"]["registrations"] == 1
            and globex.admin("stats")["oauth"]["registrations"] == 1
        )
        for server in (acme, globex):
            checks = server.admin("redirect-checks")
            assert checks["refusals"] == [] and len(checks["registered"]) == 1
        (acme_redirect,) = acme.admin("redirect-checks")["registered"].values()
        (globex_redirect,) = globex.admin("redirect-checks")["registered"].values()
        assert acme_redirect[0].endswith("/oauth/notion") and globex_redirect[0].endswith("/oauth/notion-2")
        assert stored_servers(w.home) == {"notion", "notion-2"}

        # The chat panel asks which workspace once two are connected, then remembers.
        open_panel(w)
        wait_until(lambda: driver.find_element(By.ID, "workspace-bar").is_displayed(), "the workspace choice")
        driver.find_element(By.ID, "text").send_keys("/search handbook\n")
        wait_until(lambda: "Which Notion workspace?" in problem_text(driver), "the question")
        assert not driver.find_elements(By.CSS_SELECTOR, ".toolcard")
        driver.find_element(By.ID, "open-forms").click()
        wait_until(lambda: "Which Notion workspace?" in problem_text(driver), "the forms ask too")
        choose(driver, "#workspace", "🌐 Globex")
        driver.find_element(By.ID, "text").send_keys("/search handbook\n")
        wait_until(
            lambda: "Done" in " ".join(c.text for c in driver.find_elements(By.CSS_SELECTOR, ".toolcard")),
            "the search",
        )
        assert "Notion · Globex · notion-search" in driver.find_element(By.CSS_SELECTOR, ".toolcard").text
        assert globex.admin("stats")["calls"].get("notion-search", 0) >= 1
        assert acme.admin("stats")["calls"].get("notion-search", 0) == 0
        wait_until(
            lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area [data-form] .nf-run"),
            "the forms, in Globex",
        )
        open_panel(w)  # a fresh panel remembers the choice
        wait_until(
            lambda: driver.find_element(By.ID, "workspace").get_attribute("value") == "notion-2",
            "the remembered choice",
        )

        # Save chat to Notion goes to the chosen workspace too, picked by name like Save page: here into one of
        # the two data sources of a database, which only a data_source_id parent can name.
        w.llm.plan = [{"text": "Fix the S1 bugs first."}]
        driver.find_element(By.ID, "text").send_keys("What should we ship next?\n")
        wait_until(lambda: "Fix the S1 bugs first." in driver.find_element(By.ID, "log").text, "the answer")
        driver.find_element(By.ID, "save-chat").click()
        form = driver.find_element(By.ID, "save-chat-form")
        wait_until(lambda: form.find_elements(By.CSS_SELECTOR, "input[name=find]"), "where to save it")
        assert [i.get_attribute("name") for i in form.find_elements(By.TAG_NAME, "input")] == ["find"], (
            "nothing asks for an id"
        )
        assert "Globex" in form.text
        form.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys("Roadmap\n")
        choose(driver, "select[name=found]", "▦ Roadmap", form)
        choose(driver, "select[name=data-source]", "Bugs", form)
        wait_until(lambda: "In the data source Bugs." in form.text, "the data source to be chosen")
        cards = len(driver.find_elements(By.CSS_SELECTOR, ".toolcard"))
        driver.find_element(By.ID, "save-chat-now").click()
        wait_until(lambda: len(driver.find_elements(By.CSS_SELECTOR, ".toolcard")) > cards, "the save's card")
        wait_until(lambda: "Done" in driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text, "the save")
        assert (
            "Notion · Globex · notion-create-pages"
            in driver.find_elements(By.CSS_SELECTOR, ".toolcard")[-1].text
        )
        (saved,) = globex.admin("pages", title="What should we ship next?")["pages"]
        assert saved["parent"]["type"] == "data_source" and "Fix the S1 bugs first." in saved["content"]
        assert "Severity" in saved["properties"] and "Stage" not in saved["properties"], (
            "into Bugs, not Features"
        )
        assert not acme.admin("pages", title="What should we ship next?")["pages"]

        # Signing one workspace out leaves the other signed in.
        open_popup(w)
        driver.execute_script("window.confirm = () => true;")
        driver.find_element(By.CSS_SELECTOR, '[data-server="notion"] .disconnect').click()
        wait_until(lambda: "Disconnected" in card_text(driver, "notion"), "Acme to be signed out")
        assert "Connected" in card_text(driver, "notion-2") and "Globex" in card_text(driver, "notion-2")
        # The card turns as soon as the session ends; the revocation and forgetting follow in the same request.
        wait_until(lambda: stored_servers(w.home) == {"notion-2"}, "Acme's sign-in to be forgotten")
        assert globex.admin("stats")["oauth"]["revocations"] == 0


def test_update_a_rows_properties_and_a_pages_content(tmp_path):
    with world(tmp_path, [ACME]) as w:
        driver = w.driver
        sign_in(w)
        source = tasks_source(w.notion)
        row = w.notion.call("notion-search", query="T-3", data_source_url=source)["results"][0]
        open_panel(w)
        open_form(w, "Update a page")
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=update]")
        form.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys(row["title"] + "\n")
        choose(driver, "select[name=found]", row["title"], form)
        wait_until(
            lambda: form.find_elements(By.CSS_SELECTOR, '[data-property="Status"] select'),
            "the row's properties",
        )
        choose(driver, '[data-property="Status"] select', "Done", form)
        estimate = form.find_element(By.CSS_SELECTOR, '[data-property="Estimate"] input')
        estimate.clear()
        estimate.send_keys("13")
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-updated"), "the update")
        assert "2 properties" in driver.find_element(By.CSS_SELECTOR, "#form-area .nf-updated").text, (
            "only what changed"
        )
        text = w.notion.call("notion-fetch", id=row["url"])["text"]
        assert '"Status":"Done"' in text and '"Estimate":13' in text

        open_form(w, "Comment on a page")
        open_form(w, "Update a page")  # a fresh form
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=update]")
        form.find_element(By.CSS_SELECTOR, "input[name=find]").send_keys("Q3 Planning Notes\n")
        choose(driver, "select[name=found]", "Q3 Planning Notes", form)
        wait_until(
            lambda: form.find_elements(By.CSS_SELECTOR, ".nf-pair textarea[name=find]"), "find and replace"
        )
        form.find_element(By.CSS_SELECTOR, ".nf-pair textarea[name=find]").send_keys(
            "Cut onboarding time in half."
        )
        form.find_element(By.CSS_SELECTOR, ".nf-pair textarea[name=replace]").send_keys(
            "Cut onboarding time by two thirds."
        )
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, "#form-area .nf-updated"), "the replacement")
        planning = w.notion.call("notion-search", query="Q3 Planning")["results"][0]
        content = w.notion.call("notion-fetch", id=planning["url"])["text"]
        assert "Cut onboarding time by two thirds." in content and "in half" not in content
        form = driver.find_element(By.CSS_SELECTOR, "#form-area [data-form=update]")
        form.find_element(By.CSS_SELECTOR, ".nf-pair textarea[name=find]").send_keys(" (no such text)")
        form.find_element(By.CSS_SELECTOR, ".nf-run").click()
        wait_until(
            lambda: "not found in the page's content" in problem_text(driver),
            "Notion's refusal, in its words",
        )
