"""What a hostile tool result, model answer or web page can do to the extension's pages: nothing.

Three walls. The pages' Content-Security-Policy runs only the extension's own script files: no inline script,
no inline handlers, no eval; checked in the files (nothing relies on inline script, so the policy can stay
strict) and in a real Chromium, where hostile markup is put into each page. The renderers never make
markup from text: a corpus of XSS payloads goes through the Markdown renderer and the tool-result renderer in
a live page, and what comes out has only allowed tags, only safe links, and ran nothing. And no web page can
show, frame, fetch or open an extension page: the chat lives in the side panel, no resource is web-accessible,
and a page that frames the chat's address gets Chrome's blocked page.
"""

from __future__ import annotations

import base64
import http.server
import json
import re
import threading
from functools import partial

import pytest
from selenium.webdriver.common.by import By

from devkit.browser import EXTENSION_DIR, chromium, extension_page, wait_until
from tests.support.processes import free_port

PAGES = [
    "popups/popup.html",
    "popups/tools.html",
    "options/options.html",
    "panel/panel.html",
    "welcome/welcome.html",
]


def test_the_manifest_policy_allows_only_the_extensions_own_scripts():
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    policy = manifest["content_security_policy"]["extension_pages"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    # Images only from the extension and from data: URLs (a tool's image, drawn from its own bytes).
    assert directives["img-src"] == "'self' data:"
    others = "; ".join(f"{name} {value}" for name, value in directives.items() if name != "img-src")
    assert not re.search(r"unsafe-|https?:|\*|data:|blob:", others)
    assert not re.search(r"unsafe-|https?:|\*|blob:", directives["img-src"])


@pytest.mark.parametrize("page", PAGES)
def test_no_page_carries_inline_script_or_inline_handlers(page):
    html = (EXTENSION_DIR / page).read_text(encoding="utf-8")
    for tag in re.findall(r"<script\b[^>]*>", html, flags=re.IGNORECASE):
        assert re.search(r"\bsrc=", tag), f"{page}: inline <script> {tag}"
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.IGNORECASE), f"{page}: inline event handler"
    assert "javascript:" not in html.lower()


def test_no_extension_page_is_exposed_to_web_pages():
    """The chat is in the side panel: nothing is web-accessible, nothing is injected into pages."""
    manifest = json.loads((EXTENSION_DIR / "manifest.json").read_text(encoding="utf-8"))
    for key in ("web_accessible_resources", "content_scripts", "externally_connectable", "host_permissions"):
        assert key not in manifest, key
    assert {"sidePanel", "activeTab"} <= set(manifest["permissions"])
    assert not (EXTENSION_DIR / "content").exists()
    for script in EXTENSION_DIR.rglob("*.js"):
        text = script.read_text(encoding="utf-8")
        assert not re.search(r"\bfiles\s*:", text), f"{script}: injects a script file into a page"
        assert 'getURL("panel/' not in text, f"{script}: hands a page the panel's address"


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


XSS_CORPUS = [
    "<script>window.ran.push('script')</script>",
    "<img src=x onerror=\"window.ran.push('img')\">",
    "<svg onload=window.ran.push('svg')>",
    "<svg><script>window.ran.push('svg script')</script></svg>",
    "<iframe src=\"javascript:window.ran.push('iframe')\"></iframe>",
    "<iframe srcdoc=\"<script>parent.ran.push('srcdoc')</script>\"></iframe>",
    "<a href=\"javascript:window.ran.push('a')\">click</a>",
    "[x](javascript:window.ran.push('md link'))",
    "[x](JaVaScRiPt:window.ran.push('md link case'))",
    "[x](  javascript:window.ran.push('md link space'))",
    "[x](java&#x09;script:window.ran.push('entity'))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](vbscript:msgbox(1))",
    "![img](javascript:window.ran.push('md image'))",
    "![img](x\" onerror=\"window.ran.push('md image attr'))",
    "[a](https://example.com\" onclick=\"window.ran.push('attr break'))",
    "**<b onmouseover=window.ran.push('bold')>bold</b>**",
    "`<script>window.ran.push('code')</script>`",
    "```html\n<script>window.ran.push('fence')</script>\n```",
    "&lt;script&gt;window.ran.push('entities')&lt;/script&gt;",
    "<style>*{display:none}</style>",
    "<link rel=stylesheet href=https://evil.example/x.css>",
    "<meta http-equiv=refresh content=\"0;url=javascript:window.ran.push('meta')\">",
    "<base href=\"javascript:window.ran.push('base')//\">",
    "<form action=javascript:window.ran.push('form')><button>go</button></form>",
    "<object data=\"javascript:window.ran.push('object')\"></object>",
    "<embed src=\"javascript:window.ran.push('embed')\">",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.ran.push('mxss')>",
    "<noscript><p title=\"</noscript><img src=x onerror=window.ran.push('noscript')>\">",
    "<details open ontoggle=window.ran.push('details')>",
    "<input autofocus onfocus=window.ran.push('input')>",
    "<video><source onerror=window.ran.push('video')></video>",
    "\"><img src=x onerror=window.ran.push('quote break')>",
    "> <img src=x onerror=window.ran.push('quote')>",
    "- <img src=x onerror=window.ran.push('list')>",
    "# <img src=x onerror=window.ran.push('heading')>",
    "<a href=https://ok.example onclick=window.ran.push('onclick')>ok</a>",
    "[ok](https://ok.example)<img src=x onerror=window.ran.push('after link')>",
    "\u0000<script>window.ran.push('nul')</script>",
    "<scr<script>ipt>window.ran.push('nested')</script>",
    "<!--<img src=x onerror=window.ran.push('comment')>-->",
    "<![CDATA[<script>window.ran.push('cdata')</script>]]>",
]

RENDER_ALL = """
const [corpus, done] = arguments;
window.ran = [];
const markdown = await import(chrome.runtime.getURL('shared/markdown.js'));
const results = await import(chrome.runtime.getURL('shared/render-result.js'));
const stage = document.createElement('div');
document.body.appendChild(stage);
for (const payload of corpus) {
  const answer = document.createElement('div');
  markdown.renderMarkdown(answer, payload);
  stage.appendChild(answer);
  const result = document.createElement('div');
  results.renderResult(result, {content: [{type: 'text', text: payload}],
                                structuredContent: {rows: [{name: payload, link: payload}]}});
  stage.appendChild(result);
  // As the chat's cards and the tool runner show a tool's text: through the Markdown renderer.
  const asMarkdown = document.createElement('div');
  results.renderResult(asMarkdown, {content: [{type: 'text', text: payload}]}, {markdown: true});
  stage.appendChild(asMarkdown);
}
// Give any handler, load or navigation a chance to fire before looking.
await new Promise((resolve) => setTimeout(resolve, 300));
const problems = [];
for (const element of stage.querySelectorAll('*')) {
  for (const attribute of element.attributes) {
    const name = attribute.name.toLowerCase();
    if (name.startsWith('on')) problems.push(`${element.tagName} ${name}`);
    if (['href', 'src', 'action', 'srcdoc', 'data', 'formaction'].includes(name)
        && !/^(https?:|mailto:)/i.test(attribute.value)) problems.push(`${element.tagName} ${name}=${attribute.value}`);
  }
}
const tags = [...new Set([...stage.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()))].sort();
done({ran: window.ran, problems, tags, text: stage.innerText.length});
"""

SAFE_TAGS = {
    "p", "h3", "h4", "h5", "h6", "pre", "code", "ul", "ol", "li", "blockquote", "strong", "em", "del", "a", "span",
    "div", "table", "thead", "tbody", "tr", "th", "td", "hr", "br", "details", "summary", "button",
}  # fmt: skip


def test_an_xss_corpus_rendered_as_answers_and_tool_results_stays_text(browser):
    browser.get(extension_page("panel/panel.html"))
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", "the panel")
    outcome = browser.execute_async_script(
        "(async () => { " + RENDER_ALL + " })().catch((e) => arguments[1]({error: String(e)}));",
        XSS_CORPUS,
    )
    assert "error" not in outcome, outcome
    assert outcome["ran"] == []
    assert outcome["problems"] == []
    assert set(outcome["tags"]) <= SAFE_TAGS, outcome["tags"]
    assert not {"script", "img", "iframe", "svg", "style", "object", "embed", "form", "base", "meta"} & set(
        outcome["tags"]
    )
    assert outcome["text"] > 0


MEDIA = """
const [png, done] = arguments;
window.ran = [];
window.violations = [];
document.addEventListener('securitypolicyviolation', (e) => window.violations.push(e.violatedDirective));
const results = await import(chrome.runtime.getURL('shared/render-result.js'));
const stage = document.createElement('div');
document.body.appendChild(stage);
results.renderResult(stage, {content: [
  {type: 'image', mimeType: 'image/png', data: png},
  {type: 'image', mimeType: 'image/svg+xml', data: btoa('<svg xmlns="http://www.w3.org/2000/svg" onload="window.ran.push(1)"/>')},
  {type: 'image', mimeType: 'image/png', data: '" onerror="window.ran.push(2)'},
  {type: 'image', mimeType: 'image/png" onerror="x', data: png},
  {type: 'audio', mimeType: 'audio/wav', data: btoa('RIFF....WAVE')},
  {type: 'resource', resource: {uri: 'file:///tmp/../report.pdf', mimeType: 'application/pdf', blob: btoa('%PDF-1.4')}},
  {type: 'resource_link', uri: "javascript:window.ran.push(3)", name: 'bad link'},
  {type: 'resource_link', uri: 'https://example.com/doc', name: 'good link'},
]});
// An image from anywhere but data: is refused by the pages' policy.
const outside = document.createElement('img');
outside.src = 'https://example.com/tracker.png';
document.body.appendChild(outside);
await new Promise((resolve) => setTimeout(resolve, 500));
const images = [...stage.querySelectorAll('img')];
done({
  ran: window.ran,
  violations: window.violations,
  images: images.map((i) => ({src: i.getAttribute('src').slice(0, 40), loaded: i.complete && i.naturalWidth > 0})),
  links: [...stage.querySelectorAll('a')].map((a) => [a.textContent, a.getAttribute('href').split(':')[0], a.getAttribute('download')]),
  trees: [...stage.querySelectorAll('details.json > summary')].map((s) => s.textContent),
});
"""


def test_tool_images_show_from_their_own_data_and_nothing_else_loads(browser):
    from tests.support.toy_server import png

    browser.get(extension_page("panel/panel.html"))
    wait_until(lambda: browser.execute_script("return document.readyState") == "complete", "the panel")
    data = base64.b64encode(png(4, 4, (0, 128, 255))).decode()
    outcome = browser.execute_async_script(
        "(async () => { " + MEDIA + " })().catch((e) => arguments[1]({error: String(e)}));", data
    )
    assert "error" not in outcome, outcome
    assert outcome["ran"] == []
    assert outcome["images"] == [{"src": "data:image/png;base64," + data[:18], "loaded": True}], (
        "only the PNG"
    )
    assert "img-src" in outcome["violations"], "the outside image was refused"
    links = outcome["links"]
    assert links[0][1:] == ["blob", "image.png"] and links[0][0].startswith("Download (image/png")
    assert links[1][0].startswith("Download the image (image/svg+xml") and links[1][1] == "blob"
    assert links[2][0].startswith('Download the image (image/png" onerror="x') and links[2][1] == "blob", (
        "a type that is not a plain raster type is a download, its words shown as text"
    )
    assert links[3][0].startswith("Download the sound (audio/wav") and links[3][2] == "sound.wav"
    assert links[4][0].startswith("Download file:///tmp/../report.pdf") and links[4][2] == "report.pdf"
    assert links[5] == ["good link", "https", None] and len(links) == 6
    assert outcome["trees"] == ["image {3}", "resource_link {3}"], "the unusable ones as data"


FRAMER = """<!doctype html><html><head><title>A page that wants the chat</title></head><body><p>Hello</p></body></html>"""

TRY_EVERYTHING = """
const [panelUrl, done] = arguments;
const report = {};
try {
  const response = await fetch(panelUrl);
  report.fetch = 'read ' + (await response.text()).length + ' characters';
} catch (e) { report.fetch = 'refused: ' + e.name; }
report.frames = await Promise.all([panelUrl, panelUrl.split('?')[0]].map((url) => new Promise((resolve) => {
  const frame = document.createElement('iframe');
  frame.src = url;
  frame.className = 'stolen';
  frame.style.cssText = 'opacity:0;position:fixed;inset:0;width:100vw;height:100vh';
  frame.addEventListener('load', () => {
    try { resolve(frame.contentDocument === null ? 'no access' : frame.contentDocument.body.innerText); }
    catch (e) { resolve('no access: ' + e.name); }
  });
  document.body.append(frame);
})));
done(report);
"""


@pytest.fixture(scope="module")
def web_page(tmp_path_factory):
    site = tmp_path_factory.mktemp("site")
    (site / "page.html").write_text(FRAMER)
    port = free_port()
    web = http.server.ThreadingHTTPServer(
        ("127.0.0.1", port), partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    )
    threading.Thread(target=web.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{port}/page.html"
    web.shutdown()


def test_a_web_page_can_neither_fetch_nor_frame_nor_open_the_chat(browser, web_page):
    panel_url = extension_page("panel/panel.html?tab=1")
    browser.get(web_page)
    report = browser.execute_async_script(
        "(async () => { " + TRY_EVERYTHING + " })().catch((e) => arguments[1]({error: String(e)}));",
        panel_url,
    )
    assert report["fetch"].startswith("refused"), report
    assert all(peek.startswith("no access") for peek in report["frames"]), report
    for frame in browser.find_elements(By.CSS_SELECTOR, "iframe.stolen"):
        browser.switch_to.frame(frame)
        assert browser.find_elements(By.ID, "log") == []
        assert browser.execute_script("return location.href").startswith("chrome-error://")
        assert "blocked" in browser.execute_script("return document.body.innerText").lower()
        browser.switch_to.default_content()
    # A page sending itself to the chat's address lands on the same blocked page.
    browser.execute_script("location.href = arguments[0];", panel_url)
    wait_until(lambda: browser.execute_script("return location.href") != web_page, "the navigation")
    assert browser.find_elements(By.ID, "log") == []
    assert "blocked" in browser.execute_script("return document.body.innerText").lower()
