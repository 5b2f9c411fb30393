// The extension builds every element with createElement and text nodes: no script of it hands a string to the
// HTML parser. docs/reliability.md says "the extension never assigns innerHTML"; this holds it to that for
// every script under extension/ (the tests excepted), so a new sink fails here, not in a review. The vendored
// sanitiser (vendor/dompurify) is the one exception, by its nature: it parses untrusted HTML inside an inert
// document so that nothing else has to; markdown.js takes its output as a DOM fragment, never as a string.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const EXTENSION = fileURLToPath(new URL("..", import.meta.url));

/** Ways a string reaches the HTML parser. */
const SINKS = [
  [/\.(innerHTML|outerHTML)\s*\+?=(?!=)/, "assigns innerHTML/outerHTML"],
  [/\[\s*["'`](innerHTML|outerHTML)["'`]\s*\]\s*\+?=(?!=)/, "assigns innerHTML/outerHTML by name"],
  [/\b(innerHTML|outerHTML)\s*:/, "sets innerHTML/outerHTML through an object (Object.assign)"],
  [/\.insertAdjacentHTML\s*\(/, "calls insertAdjacentHTML"],
  [/\bdocument\s*\.\s*write(ln)?\s*\(/, "calls document.write"],
  [/\.setHTMLUnsafe\s*\(|\.createContextualFragment\s*\(/, "parses HTML from a string"],
];

function scripts(folder) {
  const found = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const path = join(folder, entry.name);
    if (entry.isDirectory() && entry.name !== "tests" && entry.name !== "vendor") found.push(...scripts(path));
    else if (entry.isFile() && /\.m?js$/.test(entry.name)) found.push(path);
  }
  return found;
}

/** Each sink in ``source``, as "line N: what" (comments are not code, so they are left out). */
export function sinksIn(source) {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/(^|[^:])\/\/.*$/gm, "$1");
  const hits = [];
  code.split("\n").forEach((line, index) => {
    for (const [pattern, what] of SINKS) if (pattern.test(line)) hits.push(`line ${index + 1}: ${what}`);
  });
  return hits;
}

test("no script of the extension hands a string to the HTML parser", () => {
  const files = scripts(EXTENSION);
  assert.ok(files.length >= 10, `only ${files.length} scripts found: the walk is broken`);
  const offending = files.flatMap((file) => sinksIn(readFileSync(file, "utf8")).map((hit) => `${relative(EXTENSION, file)} ${hit}`));
  assert.deepEqual(offending, []);
});

test("the check catches each kind of sink and leaves look-alikes alone", () => {
  for (const sample of [
    "el.innerHTML = text;",
    "row.outerHTML += '<b>';",
    'node["innerHTML"] = x;',
    "Object.assign(el('div'), { innerHTML: html });",
    "box.insertAdjacentHTML('beforeend', html);",
    "document.write('<p>');",
    "document.writeln(x)",
    "range.createContextualFragment(html)",
  ]) {
    assert.equal(sinksIn(sample).length, 1, sample);
  }
  for (const harmless of [
    "if (el.innerHTML === '') {}",
    "// never el.innerHTML = x",
    "/* document.write(x) */",
    "el.textContent = text;",
    "const url = 'https://example.com/x';",
  ]) {
    assert.deepEqual(sinksIn(harmless), [], harmless);
  }
});
