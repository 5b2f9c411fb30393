// The validator the protocol tests rely on: each keyword catches what it should and lets through what it should.

import { test } from "node:test";
import assert from "node:assert/strict";

import { sameJson, validate } from "./support/json-schema.mjs";

const ok = (schema, value, options) => assert.deepEqual(validate(schema, value, options), [], JSON.stringify(value));
const bad = (schema, value, pattern, options) => {
  const errors = validate(schema, value, options);
  assert.ok(errors.length > 0, `${JSON.stringify(value)} should fail`);
  if (pattern) assert.match(errors.map((e) => `${e.path} ${e.message}`).join("\n"), pattern);
};

test("type, including integer, null and lists of types", () => {
  ok({ type: "integer" }, 3);
  bad({ type: "integer" }, 3.5, /should be integer, not number/);
  ok({ type: "number" }, 3.5);
  bad({ type: "number" }, "3");
  bad({ type: "object" }, [], /not array/);
  bad({ type: "object" }, null, /not null/);
  ok({ type: ["string", "null"] }, null);
  bad({ type: "boolean" }, 0);
  assert.throws(() => validate({ type: "decimal" }, 1), /unsupported type/);
});

test("properties, required and additionalProperties, with paths to the culprit", () => {
  const schema = {
    type: "object",
    properties: { id: { type: "string" }, inner: { type: "object", properties: { n: { type: "integer" } }, additionalProperties: false } },
    required: ["id"],
    additionalProperties: false,
  };
  ok(schema, { id: "x", inner: { n: 1 } });
  bad(schema, {}, /^\$\.id is required$/);
  bad(schema, { id: "x", extra: 1 }, /\$\.extra is not a property the schema declares/);
  bad(schema, { id: "x", inner: { n: "1" } }, /\$\.inner\.n should be integer/);
  bad(schema, { id: "x", inner: { m: 1 } }, /\$\.inner\.m is not/);
  ok({ type: "object", additionalProperties: { type: "string" } }, { a: "1", b: "2" });
  bad({ type: "object", additionalProperties: { type: "string" } }, { a: 1 }, /\$\.a should be string/);
});

test("closed: a fixture may use only the properties the schema declares", () => {
  const open = { type: "object", properties: { a: { type: "string" } } };
  ok(open, { a: "x", b: 1 });
  bad(open, { a: "x", b: 1 }, /\$\.b is not a property/, { closed: true });
  ok({ type: "object", additionalProperties: true, properties: {} }, { anything: 1 }, { closed: true });
  ok({ type: "object" }, { anything: 1 }, { closed: true });
});

test("const, enum and deep JSON equality", () => {
  ok({ const: "hello" }, "hello");
  bad({ const: "hello" }, "Hello", /should be "hello"/);
  ok({ enum: ["accept", "decline"] }, "decline");
  bad({ enum: ["accept", "decline"] }, "maybe", /one of "accept", "decline"/);
  ok({ const: { a: [1, { b: 2 }] } }, { a: [1, { b: 2 }] });
  assert.equal(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 }), true);
  assert.equal(sameJson([1, 2], [2, 1]), false);
  assert.equal(sameJson({ a: undefined }, {}), false);
});

test("anyOf, oneOf, allOf", () => {
  const nullable = { anyOf: [{ type: "string" }, { type: "null" }] };
  ok(nullable, null);
  ok(nullable, "x");
  bad(nullable, 3, /matches none of anyOf/);
  const one = { oneOf: [{ type: "integer" }, { type: "number" }] };
  ok(one, 1.5);
  bad(one, 1, /matches 2 of oneOf/);
  bad({ allOf: [{ minimum: 1 }, { maximum: 3 }] }, 4, /at most 3/);
});

test("items, minItems, maxItems", () => {
  const schema = { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 };
  ok(schema, ["a"]);
  bad(schema, [], /at least 1 items/);
  bad(schema, ["a", "b", "c"], /at most 2 items/);
  bad(schema, ["a", 2], /\$\[1\] should be string/);
});

test("$ref to #/$defs within the schema given, and nothing else", () => {
  const schema = {
    $defs: { Name: { type: "string", minLength: 1 } },
    type: "object",
    properties: { name: { $ref: "#/$defs/Name" }, names: { type: "array", items: { $ref: "#/$defs/Name" } } },
  };
  ok(schema, { name: "a", names: ["b"] });
  bad(schema, { name: "" }, /\$\.name should have at least 1 characters/);
  bad(schema, { names: [""] }, /\$\.names\[0\]/);
  assert.throws(() => validate({ $ref: "#/$defs/Missing" }, 1), /points at nothing/);
  assert.throws(() => validate({ $ref: "https://example.com/schema" }, 1), /unsupported \$ref/);
  assert.throws(() => validate({ $ref: "#/properties/a" }, 1), /unsupported \$ref/);
});

test("string length counts characters, not UTF-16 units; pattern is a Unicode regex", () => {
  ok({ type: "string", maxLength: 2 }, "😀é");
  bad({ type: "string", maxLength: 1 }, "😀é", /at most 1 characters/);
  ok({ type: "string", pattern: "^[A-Za-z0-9_-]{8,64}$" }, "abcdef0123456789");
  bad({ type: "string", pattern: "^[A-Za-z0-9_-]{8,64}$" }, "short", /should match/);
  ok({ type: "string", pattern: "^https?://" }, "https://openrouter.ai/api/v1");
});

test("minimum, maximum and their exclusive forms", () => {
  const schema = { type: "number", exclusiveMinimum: 0, maximum: 3600 };
  ok(schema, 0.5);
  ok(schema, 3600);
  bad(schema, 0, /more than 0/);
  bad(schema, 3600.5, /at most 3600/);
  bad({ minimum: 1 }, 0, /at least 1/);
  bad({ exclusiveMaximum: 1 }, 1, /less than 1/);
});

test("a keyword the validator does not check throws instead of passing unchecked", () => {
  for (const keyword of ["format", "patternProperties", "dependentRequired", "if", "not", "uniqueItems", "prefixItems"]) {
    assert.throws(() => validate({ [keyword]: {} }, 1), /unsupported schema keyword/, keyword);
  }
  ok({ title: "T", description: "d", default: null, discriminator: { propertyName: "type" } }, 1);
});
