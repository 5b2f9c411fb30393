"""Extension pages run only the extension's own script files: no inline script, no inline handlers, no eval.

A tool result or a model answer that slipped past the Markdown renderer would still be inert, because the
page's Content-Security-Policy refuses to run it. Checked twice: in the files (nothing relies on inline
script, so the policy can stay strict) and in a real Chromium, where hostile markup is put into each page.
"""

from __future__ import annotations

import json
import re

import pytest

from host.commands.browser import EXTENSION_DIR, chromium, extension_page, wait_until

PAGES = ["popups/popup.html", "popups/tools.html", "options/options.html", "panel/panel.html"]


def test_the_manifest_policy_allows_only_the_extensions_own_scripts():
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    policy = manifest["content_security_policy"]["extension_pages"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert not re.search(r"unsafe-|https?:|\*|data:|blob:", policy)


@pytest.mark.parametrize("page", PAGES)
def test_no_page_carries_inline_script_or_inline_handlers(page):
    html = (EXTENSION_DIR / page).read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE):
        assert re.search(r"\bsrc=", tag), f"{page}: inline <script> {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), f"{page}: inline event handler"
    assert "javascript:" not in html.lower()


def test_no_extension_script_evaluates_strings():
    for script in EXTENSION_DIR.rglob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\beval\s*\(|new\s+Function\s*\(|setTimeout\s*\(\s*['\"`]", text), script


HOSTILE = """
window.ran = [];
window.violations = [];
document.addEventListener('securitypolicyviolation',
  (e) => window.violations.push(e.violatedDirective));
const inline = document.createElement('script');
inline.textContent = "window.ran.push('inline script')";
document.body.appendChild(inline);
const holder = document.createElement('div');
holder.innerHTML = `<img src="data:," onerror="window.ran.push('inline handler')">`
  + `<a id="js-link" href="javascript:window.ran.push('javascript url')">x</a>`;
document.body.appendChild(holder);
document.getElementById('js-link').click();
// Later, from the page's own task queue: code evaluated by the test driver itself is exempt from the policy.
setTimeout(() => {
  try { eval("window.ran.push('eval')"); } catch (e) { window.violations.push('eval: ' + e.name); }
  try { new Function("window.ran.push('new Function')")(); } catch (e) {
    window.violations.push('Function: ' + e.name);
  }
}, 0);
"""


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with chromium(tmp_path_factory.mktemp("csp-profile")) as driver:
        yield driver


@pytest.mark.parametrize("page", PAGES)
def test_hostile_markup_in_a_live_page_never_runs(browser, page):
    browser.get(extension_page(page))
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", page)
    browser.execute_script(HOSTILE)
    # Violation reports are dispatched asynchronously; wait for the three inline attempts to be refused.
    wait_until(
        lambda: (
            len([v for v in browser.execute_script("return window.violations") if "script-src" in v]) >= 3
        ),
        "the policy to refuse inline script, the inline handler and the javascript: URL",
    )
    wait_until(lambda: "Function: EvalError" in browser.execute_script("return window.violations"), "eval")
    assert browser.execute_script("return window.ran") == []
    assert "eval: EvalError" in browser.execute_script("return window.violations")
