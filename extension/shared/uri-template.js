// Resource templates (RFC 6570 URI templates, as MCP servers publish them): the variables a form asks for, and
// the URI they make. Levels 1 to 3 of the RFC, plus the explode modifier: what servers use. Pure.

const OPERATORS = {
  "": { first: "", sep: ",", named: false, reserved: false },
  "+": { first: "", sep: ",", named: false, reserved: true },
  "#": { first: "#", sep: ",", named: false, reserved: true },
  ".": { first: ".", sep: ".", named: false, reserved: false },
  "/": { first: "/", sep: "/", named: false, reserved: false },
  ";": { first: ";", sep: ";", named: true, reserved: false },
  "?": { first: "?", sep: "&", named: true, reserved: false },
  "&": { first: "&", sep: "&", named: true, reserved: false },
};

function expressions(template) {
  return [...template.matchAll(/\{([+#./;?&]?)([^}]*)\}/g)].map((match) => ({
    whole: match[0],
    op: match[1],
    vars: match[2].split(",").map((spec) => spec.trim()).filter(Boolean).map((spec) => ({
      name: spec.replace(/\*$/, "").replace(/:\d+$/, ""),
      explode: spec.endsWith("*"),
      prefix: Number(/:(\d+)$/.exec(spec)?.[1]) || null,
    })),
  }));
}

/** The template's variables, in order, each once. */
export function templateVariables(template) {
  const names = [];
  for (const { vars } of expressions(template)) for (const { name } of vars) if (!names.includes(name)) names.push(name);
  return names;
}

function encode(value, reserved) {
  const text = String(value);
  if (!reserved) return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return encodeURI(text).replace(/%25([0-9A-Fa-f]{2})/g, "%$1");
}

/** The URI the template makes with `values` ({name: string}); variables left empty are left out. */
export function expandTemplate(template, values) {
  let uri = template;
  for (const { whole, op, vars } of expressions(template)) {
    const rules = OPERATORS[op] ?? OPERATORS[""];
    const parts = [];
    for (const { name, prefix } of vars) {
      let value = values[name];
      if (value === undefined || value === null || value === "") continue;
      value = String(value);
      if (prefix) value = value.slice(0, prefix);
      const encoded = encode(value, rules.reserved);
      parts.push(rules.named ? `${name}=${encoded}` : encoded);
    }
    uri = uri.replace(whole, parts.length ? rules.first + parts.join(rules.sep) : "");
  }
  return uri;
}
