// A tool's inputSchema (JSON Schema) turned into a form model, and the form's values checked against it.
// Pure — no DOM — so it runs under node's test runner; schema-form-dom.js draws the model.

const SIMPLE = new Set(["string", "number", "integer", "boolean"]);

function typeOf(schema) {
  if (Array.isArray(schema.type)) {
    const concrete = schema.type.filter((t) => t !== "null");
    return concrete.length === 1 ? concrete[0] : undefined;
  }
  return schema.type;
}

/**
 * The form model of one schema node. Kinds: string, number, integer, boolean, enum, array, object, and json
 * for whatever a form cannot express well (oneOf/anyOf/allOf, free-form objects, mixed types).
 */
export function fieldFor(name, schema = {}, required = false, path = name ? [name] : []) {
  const base = {
    name,
    path,
    required,
    title: schema.title ?? name,
    description: schema.description ?? "",
    default: schema.default,
  };
  if (schema.oneOf || schema.anyOf || schema.allOf || schema.$ref) return { ...base, kind: "json", schema };
  if (Array.isArray(schema.enum)) return { ...base, kind: "enum", options: schema.enum };
  const type = typeOf(schema) ?? (schema.properties ? "object" : undefined);
  if (SIMPLE.has(type)) return { ...base, kind: type, schema };
  if (type === "array") {
    const items = schema.items ?? {};
    const itemType = typeOf(items);
    if (Array.isArray(items.enum)) return { ...base, kind: "array", item: fieldFor("", items, true, [...path, "*"]) };
    if (SIMPLE.has(itemType)) return { ...base, kind: "array", item: fieldFor("", items, true, [...path, "*"]) };
    return { ...base, kind: "json", schema };
  }
  if (type === "object" && schema.properties && schema.additionalProperties !== true) {
    const needed = new Set(schema.required ?? []);
    const fields = Object.entries(schema.properties).map(([key, sub]) => fieldFor(key, sub, needed.has(key), [...path, key]));
    return { ...base, kind: "object", fields };
  }
  return { ...base, kind: "json", schema };
}

/** The model of a whole tool input: always an object at the top. */
export function formModel(inputSchema) {
  const schema = inputSchema && typeof inputSchema === "object" ? inputSchema : { type: "object" };
  const model = fieldFor("", { type: "object", properties: {}, ...schema }, true, []);
  return model.kind === "object" ? model : { ...model, kind: "json" };
}

/** Turn what a person typed into the value the schema wants; throws with words when it cannot. */
export function coerce(field, raw) {
  if (raw === undefined || raw === null || raw === "") return undefined;
  switch (field.kind) {
    case "integer": {
      const n = Number(raw);
      if (!Number.isInteger(n)) throw new Error(`${label(field)} must be a whole number`);
      return n;
    }
    case "number": {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`${label(field)} must be a number`);
      return n;
    }
    case "boolean":
      return raw === true || raw === "true";
    case "enum": {
      const match = field.options.find((option) => String(option) === String(raw));
      if (match === undefined) throw new Error(`${label(field)} must be one of ${field.options.join(", ")}`);
      return match;
    }
    case "json":
      try {
        return typeof raw === "string" ? JSON.parse(raw) : raw;
      } catch (error) {
        throw new Error(`${label(field)} is not valid JSON: ${error.message}`);
      }
    default:
      return String(raw);
  }
}

function label(field) {
  return field.path.filter((p) => p !== "*").join(".") || field.title || "value";
}

/** Every problem with ``value`` against ``schema``, as [{path, message}]; empty when it is valid. */
export function validate(schema, value, path = []) {
  const errors = [];
  const where = path.join(".") || "arguments";
  const add = (message) => errors.push({ path: where, message });
  if (value === undefined) return errors;
  if (Array.isArray(schema.enum) && !schema.enum.some((option) => JSON.stringify(option) === JSON.stringify(value))) {
    add(`must be one of ${schema.enum.map((o) => JSON.stringify(o)).join(", ")}`);
    return errors;
  }
  const type = typeOf(schema) ?? (schema.properties ? "object" : undefined);
  if (value === null) {
    if (Array.isArray(schema.type) && schema.type.includes("null")) return errors;
    if (type) add(`must be ${type}, not null`);
    return errors;
  }
  switch (type) {
    case "string":
      if (typeof value !== "string") add("must be text");
      else {
        if (schema.minLength !== undefined && value.length < schema.minLength) add(`must be at least ${schema.minLength} characters`);
        if (schema.maxLength !== undefined && value.length > schema.maxLength) add(`must be at most ${schema.maxLength} characters`);
        if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) add(`must match ${schema.pattern}`);
      }
      break;
    case "integer":
    case "number":
      if (typeof value !== "number" || !Number.isFinite(value) || (type === "integer" && !Number.isInteger(value))) {
        add(type === "integer" ? "must be a whole number" : "must be a number");
      } else {
        if (schema.minimum !== undefined && value < schema.minimum) add(`must be at least ${schema.minimum}`);
        if (schema.maximum !== undefined && value > schema.maximum) add(`must be at most ${schema.maximum}`);
      }
      break;
    case "boolean":
      if (typeof value !== "boolean") add("must be true or false");
      break;
    case "array":
      if (!Array.isArray(value)) add("must be a list");
      else {
        if (schema.minItems !== undefined && value.length < schema.minItems) add(`needs at least ${schema.minItems} items`);
        if (schema.maxItems !== undefined && value.length > schema.maxItems) add(`takes at most ${schema.maxItems} items`);
        value.forEach((item, i) => errors.push(...validate(schema.items ?? {}, item, [...path, String(i)])));
      }
      break;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) add("must be an object");
      else {
        for (const key of schema.required ?? []) {
          if (value[key] === undefined) errors.push({ path: [...path, key].join("."), message: "is required" });
        }
        for (const [key, sub] of Object.entries(schema.properties ?? {})) {
          errors.push(...validate(sub, value[key], [...path, key]));
        }
        if (schema.additionalProperties === false) {
          for (const key of Object.keys(value)) {
            if (!(key in (schema.properties ?? {}))) errors.push({ path: [...path, key].join("."), message: "is not allowed" });
          }
        }
      }
      break;
    default:
      break;
  }
  return errors;
}

/** Drop the keys a person left empty, so optional arguments are absent rather than "", null or {}. */
export function prune(value) {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map(prune).filter((v) => v !== undefined);
  if (value && typeof value === "object") {
    const out = {};
    for (const [key, inner] of Object.entries(value)) {
      const kept = prune(inner);
      if (kept !== undefined && !(typeof kept === "object" && !Array.isArray(kept) && Object.keys(kept).length === 0)) {
        out[key] = kept;
      }
    }
    return out;
  }
  return value === "" ? undefined : value;
}
