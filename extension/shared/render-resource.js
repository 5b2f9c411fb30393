// A resource's contents, readable: Markdown drawn, JSON as a tree, other text as it is, an image shown, any
// other binary offered as a download. Everything from a server reaches the DOM as text or as a data/blob URL
// for an <img> or a download link: no server-supplied HTML.

import { renderMarkdown } from "./markdown.js";
import { jsonTree } from "./render-result.js";

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** How a content block is best shown: "markdown", "json", "text", "image" or "download". Pure. */
export function contentKind(content) {
  const mime = String(content.mimeType ?? "").toLowerCase().split(";")[0].trim();
  if (typeof content.text === "string") {
    if (mime === "text/markdown" || /\.(md|markdown)$/i.test(content.uri ?? "")) return "markdown";
    if (mime === "application/json" || mime.endsWith("+json") || /\.json$/i.test(content.uri ?? "")) return "json";
    return "text";
  }
  if (mime.startsWith("image/") && mime !== "image/svg+xml") return "image";
  return "download";
}

/** The file name a download of `uri` gets. Pure. */
export function fileName(uri) {
  const last = String(uri).split(/[?#]/)[0].split("/").filter(Boolean).pop() ?? "resource";
  return decodeURIComponent(last).replace(/[^\w.-]+/g, "_").slice(0, 100) || "resource";
}

function bytesOf(base64) {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i += 1) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** Fill `container` with the contents of a ReadResourceResult; returns the text a Copy button should copy. */
export function renderContents(container, contents) {
  container.replaceChildren();
  const texts = [];
  for (const content of contents ?? []) {
    const block = el("div", "resource-content");
    block.dataset.kind = contentKind(content);
    block.append(el("div", "meta", [content.uri, content.mimeType].filter(Boolean).join(" · ")));
    switch (block.dataset.kind) {
      case "markdown": {
        const body = el("div", "markdown");
        renderMarkdown(body, content.text);
        block.append(body);
        texts.push(content.text);
        break;
      }
      case "json": {
        try {
          block.append(jsonTree(JSON.parse(content.text), fileName(content.uri)));
          block.querySelector("details")?.setAttribute("open", "");
        } catch {
          block.append(el("pre", "text", content.text));
        }
        texts.push(content.text);
        break;
      }
      case "text":
        block.append(el("pre", "text", content.text));
        texts.push(content.text);
        break;
      case "image": {
        const image = el("img", "resource-image");
        image.alt = fileName(content.uri);
        image.src = `data:${content.mimeType};base64,${content.blob}`;
        block.append(image);
        break;
      }
      default: {
        const bytes = bytesOf(content.blob ?? "");
        const link = el("a", "download", `Download ${fileName(content.uri)} (${bytes.length.toLocaleString()} bytes)`);
        link.href = URL.createObjectURL(new Blob([bytes], { type: content.mimeType || "application/octet-stream" }));
        link.download = fileName(content.uri);
        block.append(link);
      }
    }
    container.append(block);
  }
  return texts.join("\n");
}

/** A resource's contents as text for the chat model: text as it is, anything else named. Pure. */
export function contentsForModel(contents) {
  return (contents ?? []).map((content) =>
    typeof content.text === "string"
      ? content.text
      : `[${content.mimeType ?? "binary"} content of ${content.uri}, ${Math.floor(((content.blob ?? "").length * 3) / 4)} bytes, not shown]`,
  ).join("\n");
}
