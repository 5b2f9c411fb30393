import { test } from "node:test";
import assert from "node:assert/strict";

import { coerce, formModel, prune, validate } from "../shared/schema-form.js";

const searchSchema = {
  type: "object",
  properties: {
    query: { type: "string", description: "What to look for", minLength: 1 },
    page_size: { type: "integer", default: 10, minimum: 1, maximum: 100 },
    query_type: { type: "string", enum: ["internal", "user"] },
    include_archived: { type: "boolean" },
    score: { type: "number" },
    tags: { type: "array", items: { type: "string" } },
    parent: { type: "object", properties: { page_id: { type: "string" } }, required: ["page_id"] },
    filter: { anyOf: [{ type: "object" }, { type: "null" }] },
    extra: { type: "object", additionalProperties: true },
  },
  required: ["query"],
};

test("each JSON Schema type becomes the right kind of field, with required marks, defaults and help", () => {
  const model = formModel(searchSchema);
  const byName = Object.fromEntries(model.fields.map((f) => [f.name, f]));
  assert.equal(model.kind, "object");
  assert.equal(byName.query.kind, "string");
  assert.equal(byName.query.required, true);
  assert.equal(byName.query.description, "What to look for");
  assert.equal(byName.page_size.kind, "integer");
  assert.equal(byName.page_size.default, 10);
  assert.deepEqual(byName.query_type.options, ["internal", "user"]);
  assert.equal(byName.include_archived.kind, "boolean");
  assert.equal(byName.score.kind, "number");
  assert.equal(byName.tags.kind, "array");
  assert.equal(byName.tags.item.kind, "string");
  assert.equal(byName.parent.kind, "object");
  assert.deepEqual(byName.parent.fields.map((f) => [f.name, f.required, f.path.join(".")]), [["page_id", true, "parent.page_id"]]);
  assert.equal(byName.filter.kind, "json", "anyOf is edited as JSON");
  assert.equal(byName.extra.kind, "json", "free-form objects are edited as JSON");
});

test("a tool without a schema still gets an (empty) object form", () => {
  assert.deepEqual(formModel(undefined).fields, []);
  assert.deepEqual(formModel({ type: "object" }).fields, []);
});

test("typed text is coerced to the schema's types, with words when it cannot be", () => {
  const model = formModel(searchSchema);
  const field = (name) => model.fields.find((f) => f.name === name);
  assert.equal(coerce(field("page_size"), "25"), 25);
  assert.throws(() => coerce(field("page_size"), "2.5"), /page_size must be a whole number/);
  assert.equal(coerce(field("score"), "0.5"), 0.5);
  assert.throws(() => coerce(field("score"), "lots"), /score must be a number/);
  assert.equal(coerce(field("include_archived"), true), true);
  assert.equal(coerce(field("query_type"), "user"), "user");
  assert.throws(() => coerce(field("query_type"), "other"), /must be one of internal, user/);
  assert.deepEqual(coerce(field("filter"), '{"property": "Status"}'), { property: "Status" });
  assert.throws(() => coerce(field("filter"), "{nope"), /filter is not valid JSON/);
  assert.equal(coerce(field("query"), ""), undefined);
});

test("validation names every problem by its path", () => {
  const errors = validate(searchSchema, { page_size: 0, query_type: "x", tags: ["a", 3], parent: {} });
  const found = errors.map((e) => `${e.path} ${e.message}`);
  assert.deepEqual(found.sort(), [
    "page_size must be at least 1",
    "parent.page_id is required",
    "query is required",
    'query_type must be one of "internal", "user"',
    "tags.1 must be text",
  ]);
  assert.deepEqual(validate(searchSchema, { query: "handbook", tags: ["a"], parent: { page_id: "p" } }), []);
});

test("strict objects refuse unknown keys; nullable types accept null", () => {
  const strict = { type: "object", properties: { a: { type: ["string", "null"] } }, additionalProperties: false };
  assert.deepEqual(validate(strict, { a: null }), []);
  assert.deepEqual(validate(strict, { b: 1 }), [{ path: "b", message: "is not allowed" }]);
});

test("empty optional values are dropped before sending", () => {
  assert.deepEqual(prune({ query: "x", tags: [], parent: { page_id: "" }, params: null, n: 0, flag: false }), {
    query: "x",
    tags: [],
    n: 0,
    flag: false,
  });
});
