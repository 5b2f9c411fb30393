import { test } from "node:test";
import assert from "node:assert/strict";

import { ALLOWED_TAGS, parse } from "../shared/markdown.js";

function walk(nodes, visit) {
  for (const node of nodes) {
    visit(node);
    if (typeof node !== "string") walk(node.children ?? [], visit);
  }
}

function text(nodes) {
  let out = "";
  walk(nodes, (node) => {
    if (typeof node === "string") out += node;
  });
  return out;
}

test("common Markdown becomes the expected structure", () => {
  const tree = parse("# Title\n\nSome **bold** and *em* and `code`.\n\n- one\n- two\n\n1. first\n\n> quoted\n\n```\nx < y\n```");
  assert.deepEqual(tree.map((b) => b.tag), ["h3", "p", "ul", "ol", "blockquote", "pre"]);
  assert.deepEqual(tree[1].children.map((c) => (typeof c === "string" ? c : c.tag)), ["Some ", "strong", " and ", "em", " and ", "code", "."]);
  assert.equal(tree[2].children.length, 2);
  assert.equal(text([tree[5]]), "x < y");
});

test("links keep only http(s) and mailto targets", () => {
  const [p] = parse("[site](https://example.com) [bad](javascript:alert(1)) [data](data:text/html,<b>)");
  const links = p.children.filter((c) => c.tag === "a");
  assert.equal(links.length, 1);
  assert.equal(links[0].attrs.href, "https://example.com");
  assert.equal(links[0].attrs.rel, "noopener noreferrer");
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
];

test("hostile payloads from tools and models never become markup", () => {
  for (const payload of HOSTILE) {
    const tree = parse(payload);
    walk(tree, (node) => {
      if (typeof node === "string") return;
      assert.ok(ALLOWED_TAGS.has(node.tag), `${payload} produced <${node.tag}>`);
      for (const [name, value] of Object.entries(node.attrs ?? {})) {
        assert.ok(["href", "target", "rel"].includes(name), `${payload} produced attribute ${name}`);
        if (name === "href") assert.match(value, /^(https?:|mailto:)/i);
      }
    });
  }
});
