// Renders an MCP CallToolResult readably: text blocks, images, downloads for sounds and files, a table for lists of
// rows, a collapsible JSON tree. Everything from a server goes in as text nodes: no server-supplied HTML reaches the
// DOM. An image is shown only from its own base64 data, as a data: URL of a raster type (the pages' policy allows
// images from data: URLs and the extension itself, nothing else); sounds and files are offered as downloads.
// A tabular result is drawn by result-table-dom.js (sortable, counted, copied as CSV or Markdown, only the rows in
// view when long), with the text it came with folded away; other text, with `markdown`, goes through the chat's
// own Markdown renderer (marked, then DOMPurify) instead of showing as plain text.

import { renderMarkdown } from "./markdown.js";
import { tableOf } from "./result-table.js";
import { drawTable } from "./result-table-dom.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

export function jsonTree(value, name = "result") {
  if (value === null || typeof value !== "object") return el("span", "json-leaf", `${name}: ${JSON.stringify(value)}`);
  const details = el("details", "json");
  details.append(el("summary", "", `${name} ${Array.isArray(value) ? `[${value.length}]` : `{${Object.keys(value).length}}`}`));
  // Built when first opened: a long result's tree costs nothing until someone looks.
  details.addEventListener(
    "toggle",
    () => {
      for (const [key, inner] of Object.entries(value)) {
        const item = el("div", "json-item");
        item.append(jsonTree(inner, key));
        details.append(item);
      }
    },
    { once: true },
  );
  return details;
}

const IMAGE_TYPES = new Set(["image/png", "image/jpeg", "image/gif", "image/webp"]);
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

function bytesOf(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function sizeWords(bytes) {
  return bytes < 1024 ? `${bytes} B` : bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(0)} KB` : `${(bytes / 1048576).toFixed(1)} MB`;
}

/** A link that saves `base64` as a file: a blob: URL made here, from the data, never an address from the server. */
function download(base64, mime, name, label) {
  const bytes = bytesOf(base64);
  const link = el("a", "download", `${label} (${mime}, ${sizeWords(bytes.length)})`);
  link.href = URL.createObjectURL(new Blob([bytes], { type: mime }));
  link.download = name;
  return link;
}

function fileName(uri, fallback) {
  const last = String(uri ?? "").split(/[/\\?#]/).filter(Boolean).pop();
  return (last ?? "").replace(/[^\w.-]+/g, "_").slice(0, 100) || fallback;
}

/** One content block that is not text: an image, a sound, a file or a link; null when it has no usable data. */
function media(block) {
  const mime = String(block.mimeType ?? block.resource?.mimeType ?? "application/octet-stream");
  const data = typeof block.data === "string" ? block.data : typeof block.resource?.blob === "string" ? block.resource.blob : null;
  if (data !== null && !BASE64.test(data)) return null;
  if (block.type === "image" && data !== null) {
    if (!IMAGE_TYPES.has(mime)) return download(data, mime, "image", "Download the image");
    const figure = el("figure", "media");
    const image = el("img");
    image.alt = `An image from the tool (${mime})`;
    image.src = `data:${mime};base64,${data}`;
    figure.append(image, download(data, mime, `image.${mime.split("/")[1]}`, "Download"));
    return figure;
  }
  if (block.type === "audio" && data !== null) return download(data, mime, `sound.${mime.split("/")[1] ?? "bin"}`, "Download the sound");
  if (block.type === "resource" && data !== null) return download(data, mime, fileName(block.resource.uri, "file"), `Download ${block.resource.uri ?? "the file"}`);
  if (block.type === "resource" && typeof block.resource?.text === "string") return el("pre", "text", block.resource.text);
  if (block.type === "resource_link" && /^https?:/i.test(block.uri ?? "")) {
    const link = el("a", "", block.name || block.uri);
    link.href = block.uri;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }
  return null;
}

/** Whether `text` is JSON (shown as it is, never as Markdown). */
function isJson(text) {
  if (!/^\s*[[{]/.test(text)) return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Fill ``container`` with the rendering of ``result``; returns the text a Copy button should copy. With
 * `markdown`, text that is not JSON is rendered as Markdown (an error's text stays plain).
 */
export function renderResult(container, result, { markdown = false } = {}) {
  container.replaceChildren();
  container.classList.toggle("is-error", Boolean(result.isError));
  const texts = [];
  const model = tableOf(result);
  const folded = model ? el("details", "as-text") : null;
  if (folded) folded.append(el("summary", "", "As text"));
  for (const block of result.content ?? []) {
    if (block.type === "text") {
      texts.push(block.text);
      if (folded) folded.append(el("pre", "text", block.text));
      else if (markdown && !result.isError && !isJson(block.text)) {
        const node = el("div", "text markdown");
        renderMarkdown(node, block.text);
        container.append(node);
      } else container.append(el("pre", "text", block.text));
    } else {
      container.append(media(block) ?? jsonTree(block, block.type));
    }
  }
  if (model) container.append(drawTable(model));
  if (folded && folded.childElementCount > 1) container.append(folded);
  if (result.structuredContent) container.append(jsonTree(result.structuredContent, "structuredContent"));
  return texts.join("\n") || JSON.stringify(result, null, 2);
}

