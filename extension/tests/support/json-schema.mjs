// A JSON Schema validator for the part of draft 2020-12 that docs/protocol.schema.json uses: type, properties,
// required, additionalProperties, const, enum, anyOf, oneOf, allOf, items, $ref to #/$defs/… within the schema
// given as the root, minLength/maxLength, pattern, minimum/maximum/exclusiveMinimum/exclusiveMaximum,
// minItems/maxItems. A keyword outside that set throws rather than being skipped, so a schema that starts using
// one cannot pass unchecked.
//
// validate(schema, value, {closed}) returns a list of {path, message}; empty means valid. With `closed`, an object
// schema that lists properties and says nothing about others allows no others: for checking that a fixture uses
// only fields the schema declares (the host's message schemas leave additionalProperties open).

const ANNOTATIONS = new Set([
  "$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly",
  "writeOnly", "discriminator", "$defs",
]); // prettier-ignore

const CHECKED = new Set([
  "type", "properties", "required", "additionalProperties", "const", "enum", "anyOf", "oneOf", "allOf", "items",
  "$ref", "minLength", "maxLength", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
  "minItems", "maxItems",
]); // prettier-ignore

function typeOf(value) {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value; // "object", "string", "number", "boolean", …
}

function hasType(value, type) {
  switch (type) {
    case "null":
      return value === null;
    case "array":
      return Array.isArray(value);
    case "object":
      return typeOf(value) === "object";
    case "integer":
      return typeof value === "number" && Number.isInteger(value);
    case "number":
      return typeof value === "number" && Number.isFinite(value);
    case "string":
    case "boolean":
      return typeof value === type;
    default:
      throw new Error(`unsupported type ${JSON.stringify(type)}`);
  }
}

/** JSON equality, as const and enum compare (key order does not matter). */
export function sameJson(a, b) {
  if (a === b) return true;
  if (typeOf(a) !== typeOf(b) || typeof a !== "object" || a === null) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && sameJson(a[key], b[key]));
}

function resolve(root, ref) {
  const match = /^#\/\$defs\/([^/]+)$/.exec(ref);
  if (!match) throw new Error(`unsupported $ref ${JSON.stringify(ref)}: only #/$defs/<name> within the schema`);
  const target = root.$defs?.[match[1]];
  if (!target) throw new Error(`$ref ${ref} points at nothing`);
  return target;
}

function at(path, key) {
  return typeof key === "number" ? `${path}[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function check(schema, value, path, root, options, errors) {
  if (schema === true) return;
  if (schema === false) {
    errors.push({ path, message: "is not allowed" });
    return;
  }
  if (typeOf(schema) !== "object") throw new Error(`${path}: a schema must be an object or a boolean`);
  for (const keyword of Object.keys(schema)) {
    if (!CHECKED.has(keyword) && !ANNOTATIONS.has(keyword)) throw new Error(`unsupported schema keyword ${JSON.stringify(keyword)} (at ${path})`);
  }
  const fail = (message) => errors.push({ path, message });

  if (schema.$ref !== undefined) check(resolve(root, schema.$ref), value, path, root, options, errors);

  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? schema.type : [schema.type];
    if (!types.some((type) => hasType(value, type))) {
      fail(`should be ${types.join(" or ")}, not ${typeOf(value)}`);
      return; // the other keywords would only repeat it
    }
  }
  if (schema.const !== undefined && !sameJson(value, schema.const)) fail(`should be ${JSON.stringify(schema.const)}`);
  if (schema.enum !== undefined && !schema.enum.some((option) => sameJson(value, option))) {
    fail(`should be one of ${schema.enum.map((o) => JSON.stringify(o)).join(", ")}`);
  }

  if (schema.anyOf !== undefined) {
    const attempts = schema.anyOf.map((inner) => collect(inner, value, path, root, options));
    if (!attempts.some((found) => found.length === 0)) fail(`matches none of anyOf: ${summary(attempts)}`);
  }
  if (schema.oneOf !== undefined) {
    const attempts = schema.oneOf.map((inner) => collect(inner, value, path, root, options));
    const passed = attempts.filter((found) => found.length === 0).length;
    if (passed === 0) fail(`matches none of oneOf: ${summary(attempts)}`);
    else if (passed > 1) fail(`matches ${passed} of oneOf, not exactly one`);
  }
  for (const inner of schema.allOf ?? []) check(inner, value, path, root, options, errors);

  if (typeof value === "string") {
    const length = [...value].length; // code points, as JSON Schema counts
    if (schema.minLength !== undefined && length < schema.minLength) fail(`should have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && length > schema.maxLength) fail(`should have at most ${schema.maxLength} characters`);
    if (schema.pattern !== undefined && !new RegExp(schema.pattern, "u").test(value)) fail(`should match ${schema.pattern}`);
  }
  if (typeof value === "number") {
    if (schema.minimum !== undefined && value < schema.minimum) fail(`should be at least ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) fail(`should be at most ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) fail(`should be more than ${schema.exclusiveMinimum}`);
    if (schema.exclusiveMaximum !== undefined && value >= schema.exclusiveMaximum) fail(`should be less than ${schema.exclusiveMaximum}`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems) fail(`should have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) fail(`should have at most ${schema.maxItems} items`);
    if (schema.items !== undefined) value.forEach((item, i) => check(schema.items, item, at(path, i), root, options, errors));
  }
  if (typeOf(value) === "object") {
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(value, name)) errors.push({ path: at(path, name), message: "is required" });
    }
    const properties = schema.properties ?? {};
    let others = schema.additionalProperties;
    if (others === undefined && options.closed && schema.properties !== undefined) others = false;
    for (const [name, inner] of Object.entries(value)) {
      if (Object.hasOwn(properties, name)) check(properties[name], inner, at(path, name), root, options, errors);
      else if (others === false) errors.push({ path: at(path, name), message: "is not a property the schema declares" });
      else if (others !== undefined) check(others, inner, at(path, name), root, options, errors);
    }
  }
}

function collect(schema, value, path, root, options) {
  const errors = [];
  check(schema, value, path, root, options, errors);
  return errors;
}

function summary(attempts) {
  return attempts.map((found) => found.map((e) => `${e.path} ${e.message}`).join("; ")).join(" | ");
}

/** Check `value` against `schema`; $refs resolve within `schema` itself. Returns [{path, message}], empty if valid. */
export function validate(schema, value, { closed = false } = {}) {
  return collect(schema, value, "$", schema, { closed });
}

/** The errors as one line each, for an assertion message. */
export function describe(errors) {
  return errors.map((e) => `${e.path} ${e.message}`).join("\n");
}
