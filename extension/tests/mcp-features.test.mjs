// The pure parts of resources, prompts and progress in the extension: URI templates, what `@` and `/` find in
// the chat's text, how a resource is shown, and the progress bar's numbers.

import { test } from "node:test";
import assert from "node:assert/strict";

import { completionComplete, promptsGet, serverFromEditor, toolsList } from "../shared/host-requests.js";
import {
  matchPromptCommand,
  matchResources,
  mentionQuery,
  promptCommands,
  promptResources,
  promptText,
  withoutMention,
} from "../shared/mentions.js";
import { fraction, progressWords } from "../shared/progress.js";
import { contentKind, contentsForModel, fileName } from "../shared/render-resource.js";
import { expandTemplate, templateVariables } from "../shared/uri-template.js";

test("a resource template's variables, and the URI they make", () => {
  assert.deepEqual(templateVariables("feature://notes/{topic}"), ["topic"]);
  assert.deepEqual(templateVariables("repo://{owner}/{repo}/issues{?state,page}{#frag}"), ["owner", "repo", "state", "page", "frag"]);
  assert.equal(expandTemplate("feature://notes/{topic}", { topic: "apples" }), "feature://notes/apples");
  assert.equal(expandTemplate("feature://notes/{topic}", { topic: "a b/c" }), "feature://notes/a%20b%2Fc");
  assert.equal(expandTemplate("file://{+path}", { path: "/home/me/a b.md" }), "file:///home/me/a%20b.md");
  assert.equal(expandTemplate("x://s{?q,page}", { q: "café", page: "" }), "x://s?q=caf%C3%A9");
  assert.equal(expandTemplate("x://{a}{/b,c}", { a: "1", b: "2", c: "3" }), "x://1/2/3");
  assert.equal(expandTemplate("x://{id:3}", { id: "abcdef" }), "x://abc");
});

test("@ finds the word being typed and the resources it names; attaching takes it out of the text", () => {
  assert.deepEqual(mentionQuery("look at @read"), { start: 8, query: "read" });
  assert.deepEqual(mentionQuery("@"), { start: 0, query: "" });
  assert.equal(mentionQuery("mail me@example.com"), null, "not a mention in the middle of a word");
  assert.equal(mentionQuery("@read and more"), null, "the caret is past it");
  assert.deepEqual(mentionQuery("@read and more", 5), { start: 0, query: "read" });
  assert.equal(withoutMention("look at @read now", { start: 8, query: "read" }), "look at now");
  const resources = [
    { server: "f", serverName: "Features", uri: "feature://static/readme.md", name: "readme", title: "Read me" },
    { server: "n", serverName: "Notion", uri: "notion://docs/spec", name: "spec", title: "Spec" },
  ];
  assert.deepEqual(matchResources(resources, "READ").map((r) => r.uri), ["feature://static/readme.md"]);
  assert.deepEqual(matchResources(resources, "notion").map((r) => r.name), ["spec"], "by server too");
  assert.equal(matchResources(resources, "").length, 2);
});

test("prompts become slash commands; shared names and built-ins are told apart by server", () => {
  const prompts = [
    { server: "a", serverName: "A", prompt: { name: "summarize" } },
    { server: "a", serverName: "A", prompt: { name: "greet" } },
    { server: "b", serverName: "B", prompt: { name: "greet" } },
    { server: "b", serverName: "B", prompt: { name: "search" } },
    { server: "b", serverName: "B", prompt: { name: "two words" } },
  ];
  const commands = promptCommands(prompts);
  assert.deepEqual([...commands.keys()], ["/summarize", "/a.greet", "/b.greet", "/b.search", "/b.two_words"]);
  assert.deepEqual(matchPromptCommand("  /summarize  this text ", commands), { command: "/summarize", entry: prompts[0], rest: "this text" });
  assert.equal(matchPromptCommand("/summarize", commands).rest, "");
  assert.equal(matchPromptCommand("/search handbook", commands), null, "the built-in stays");
  assert.equal(matchPromptCommand("summarize", commands), null);
  const messages = [
    { role: "user", content: { type: "text", text: "Summarise this" } },
    { role: "assistant", content: { type: "text", text: "Sure" } },
    { role: "user", content: [{ type: "text", text: "More" }, { type: "resource", resource: { uri: "x://a", text: "A" } }] },
  ];
  assert.equal(promptText(messages), "Summarise this\n\nMore");
  assert.deepEqual(promptResources(messages), [{ uri: "x://a", text: "A" }]);
});

test("how a resource is shown, and what the model gets of it", () => {
  assert.equal(contentKind({ uri: "a://x.md", text: "# x" }), "markdown");
  assert.equal(contentKind({ uri: "a://x", mimeType: "text/markdown; charset=utf-8", text: "# x" }), "markdown");
  assert.equal(contentKind({ uri: "a://x", mimeType: "application/ld+json", text: "{}" }), "json");
  assert.equal(contentKind({ uri: "a://x", mimeType: "text/plain", text: "hi" }), "text");
  assert.equal(contentKind({ uri: "a://x.png", mimeType: "image/png", blob: "AA==" }), "image");
  assert.equal(contentKind({ uri: "a://x.svg", mimeType: "image/svg+xml", blob: "AA==" }), "download", "no SVG drawn from a server");
  assert.equal(contentKind({ uri: "a://x.bin", mimeType: "application/octet-stream", blob: "AA==" }), "download");
  assert.equal(fileName("feature://static/data.bin"), "data.bin");
  assert.equal(fileName("x://a/b%20c?q=1"), "b_c");
  assert.equal(fileName("x://"), "x_");
  assert.equal(
    contentsForModel([{ uri: "a://t", text: "hello" }, { uri: "a://b", mimeType: "image/png", blob: "AAAA" }]),
    "hello\n[image/png content of a://b, 3 bytes, not shown]",
  );
});

test("the progress bar's numbers", () => {
  assert.equal(fraction({ progress: 3, total: 10 }), 0.3);
  assert.equal(fraction({ progress: 12, total: 10 }), 1);
  assert.equal(fraction({ progress: 3 }), null, "no total: an indeterminate bar");
  assert.equal(progressWords({ progress: 3, total: 10, message: "step 3 of 10" }), "30% · step 3 of 10");
  assert.equal(progressWords({ progress: 42 }), "42");
});

test("requests built for the new features leave out what is empty", () => {
  assert.deepEqual(toolsList("s")[1], { server: "s" });
  assert.deepEqual(promptsGet("s", "p", { a: "x", b: "", c: 2 })[1], { server: "s", name: "p", arguments: { a: "x", c: "2" } });
  assert.deepEqual(completionComplete("s", { type: "ref/prompt", name: "p" }, "a", "x", { a: "x", b: "" })[1], {
    server: "s",
    ref: { type: "ref/prompt", name: "p" },
    argument: { name: "a", value: "x" },
  });
  const [, added] = serverFromEditor({ id: "", name: "K", kind: "remote", url: "https://k/mcp", headers: { " X-Key ": "v", "X-Gone": "" } });
  assert.deepEqual(added.server.headers, { "X-Key": "v" }, "a new server gets only headers with a value");
  const [, changed] = serverFromEditor({ id: "k", name: "K", kind: "remote", url: "https://k/mcp", headers: { "X-Gone": "" } });
  assert.deepEqual(changed.changes.headers, { "X-Gone": "" }, "an empty value removes a stored header");
  assert.equal(changed.changes.client_secret, undefined, "an untyped secret keeps the stored one");
});
