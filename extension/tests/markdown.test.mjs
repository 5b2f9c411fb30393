// The Markdown renderer's first stage (marked, with the extension's rules) in node. The second, DOMPurify, needs a
// DOM; tests/test_extension_security.py runs the whole renderer in Chromium on the hostile-payload corpus, and
// tests/test_chat_rich_e2e.py checks tables, nested lists and the copy button as elements in the panel.

import { test } from "node:test";
import assert from "node:assert/strict";

import { ALLOWED_ATTRIBUTES, ALLOWED_TAGS, toHtml } from "../shared/markdown.js";

/** Every tag and attribute name in the HTML (the text between tags is escaped, so `<` there is `&lt;`). */
function markup(html) {
  const tags = [];
  const attributes = [];
  for (const [, name, rest] of html.matchAll(/<\/?([a-zA-Z][\w-]*)([^>]*)>/g)) {
    tags.push(name.toLowerCase());
    for (const [, attribute] of rest.matchAll(/\s([^\s=>]+)(?:="[^"]*")?/g)) attributes.push(attribute.toLowerCase());
  }
  return { tags, attributes, hrefs: [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]) };
}

test("tables, nested lists, code, quotes and headings become their elements", () => {
  const html = toHtml("# Title\n\n| Team | Users |\n|:--|--:|\n| Platform | **120** |\n\n- one\n  - nested\n    1. deep\n- two\n\n> quoted\n\n```js\nx < y\n```");
  const { tags } = markup(html);
  for (const tag of ["h3", "table", "thead", "tbody", "tr", "th", "td", "strong", "ul", "ol", "li", "blockquote", "pre", "code"]) {
    assert.ok(tags.includes(tag), `<${tag}> in ${html}`);
  }
  assert.match(html, /<li>one<ul>\s*<li>nested<ol>\s*<li>deep<\/li>/, "the lists nest");
  assert.match(html, /<th align="right">Users<\/th>/);
  assert.match(html, /<code class="language-js">x &lt; y\n<\/code>/);
});

test("links keep their closing parentheses, and only web and mail addresses become links", () => {
  const html = toHtml("[wiki](https://en.wikipedia.org/wiki/Foo_(bar)) [mail](mailto:a@example.com) [bad](javascript:alert(1)) [data](data:text/html,<b>)");
  assert.deepEqual(markup(html).hrefs, ["https://en.wikipedia.org/wiki/Foo_(bar)", "mailto:a@example.com"]);
  assert.match(html, /bad \(javascript:alert\(1\)\)/, "the rest is shown as text");
});

test("model text shows no images: their description, linked when it is a web address", () => {
  const html = toHtml("![chart](https://example.com/chart.png) ![x](javascript:alert(1)) <img src=x>");
  assert.ok(!markup(html).tags.includes("img"), html);
  assert.match(html, /<a href="https:\/\/example.com\/chart.png">\[image: chart\]<\/a>/);
  assert.match(html, /\[image: x\]/);
});

test("task lists read as text, not form controls", () => {
  const html = toHtml("- [x] done\n- [ ] open");
  assert.ok(!markup(html).tags.includes("input"));
  assert.match(html, /☑ done/);
});

const HOSTILE = [
  "<script>alert(1)</script>",
  '<img src=x onerror="alert(1)">',
  "<iframe src=javascript:alert(1)></iframe>",
  '<a href="javascript:alert(1)">x</a>',
  "[x](javascript:alert(1))",
  "[x](JaVaScRiPt:alert(1))",
  "[x](vbscript:msgbox)",
  "<svg onload=alert(1)>",
  "**<b onmouseover=alert(1)>bold</b>**",
  "`<script>`",
  "```\n<script>alert(1)</script>\n```",
  "&lt;script&gt;alert(1)&lt;/script&gt;",
  "<style>body{display:none}</style>",
  '"><img src=x onerror=alert(1)>',
  "> <object data=x></object>",
  "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
  "- <details open ontoggle=alert(1)>\n  - <input autofocus onfocus=alert(1)>",
  "[a](https://ok.example \"t\" onclick=alert(1))",
  "[a](<javascript:alert(1)>)",
];

test("hostile payloads from tools and models never become markup", () => {
  for (const payload of HOSTILE) {
    const { tags, attributes, hrefs } = markup(toHtml(payload));
    for (const tag of tags) assert.ok(ALLOWED_TAGS.includes(tag), `${payload} produced <${tag}>`);
    for (const attribute of attributes) assert.ok(ALLOWED_ATTRIBUTES.includes(attribute), `${payload} produced ${attribute}`);
    for (const href of hrefs) assert.match(href, /^(https?:|mailto:)/i, payload);
  }
});
