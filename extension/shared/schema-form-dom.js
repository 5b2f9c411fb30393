// Draws a form model (schema-form.js) with plain DOM, and reads the values back out.

import { coerce } from "./schema-form.js";

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (value !== undefined && value !== null) node.setAttribute(key, value);
  }
  node.append(...children.filter((c) => c !== undefined && c !== null));
  return node;
}

/** Render ``model`` into ``container``; returns a function that collects the typed value (or throws). */
export function renderForm(container, model) {
  const readers = model.fields.map((field) => renderField(container, field));
  return () => Object.fromEntries(readers.map((read, i) => [model.fields[i].name, read()]).filter(([, v]) => v !== undefined));
}

function renderField(container, field) {
  const id = `f-${field.path.join("-")}`;
  const title = el("span", { class: "label" }, field.title || field.name, field.required ? el("span", { class: "required", title: "required" }, " *") : undefined);
  const help = field.description ? el("small", { class: "help" }, field.description) : undefined;
  const wrap = el("div", { class: `field kind-${field.kind}`, "data-field": field.path.join(".") });
  container.append(wrap);

  if (field.kind === "object") {
    const box = el("fieldset", {}, el("legend", {}, title), ...(help ? [help] : []));
    wrap.append(box);
    const readers = field.fields.map((inner) => renderField(box, inner));
    return () => {
      const value = Object.fromEntries(readers.map((read, i) => [field.fields[i].name, read()]).filter(([, v]) => v !== undefined));
      return Object.keys(value).length ? value : undefined;
    };
  }
  let input;
  if (field.kind === "boolean") {
    input = el("input", { type: "checkbox", id });
    input.checked = field.default === true;
  } else if (field.kind === "enum") {
    input = el("select", { id }, el("option", { value: "" }, field.required ? "— choose —" : "(none)"),
      ...field.options.map((option) => el("option", { value: String(option) }, String(option))));
    if (field.default !== undefined) input.value = String(field.default);
  } else if (field.kind === "string" && field.schema?.format === "markdown") {
    input = el("textarea", { id, rows: "6" });
    if (field.default !== undefined) input.value = String(field.default);
  } else if (field.kind === "json" || field.kind === "array") {
    input = el("textarea", { id, rows: "3", spellcheck: "false", placeholder: field.kind === "array" ? "one per line" : "JSON" });
    if (field.default !== undefined && field.default !== null) {
      input.value = field.kind === "array" ? field.default.join("\n") : JSON.stringify(field.default, null, 2);
    }
  } else {
    const type = field.kind === "string" ? "text" : "number";
    input = el("input", { type, id, step: field.kind === "integer" ? "1" : "any" });
    if (field.default !== undefined) input.value = String(field.default);
  }
  wrap.append(el("label", { for: id }, title), input, ...(help ? [help] : []));
  return () => {
    if (field.kind === "boolean") return input.checked;
    if (field.kind === "array") {
      const lines = input.value.split("\n").map((line) => line.trim()).filter(Boolean);
      return lines.length ? lines.map((line) => coerce(field.item, line)) : undefined;
    }
    return coerce(field, input.value);
  };
}
