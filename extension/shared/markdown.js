// Markdown from a model, rendered as safe DOM: tables, nested lists, code blocks with a copy button, quotes, links.
//
// Two well-kept libraries do it, vendored as pinned ES modules (extension/vendor/README.md): marked turns the text
// into HTML, and DOMPurify keeps only the elements and attributes listed here, and only http(s) and mailto links,
// before anything reaches the page; what it returns is a DOM fragment, never an HTML string handed to the page.
// Two rules come before both: raw HTML in the text stays text (marked's html tokens are escaped), and a model's
// text shows no images (an image becomes its description, linked when its address is http(s)), so nothing a model
// or a server writes can load content or run script in an extension page.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.js";

const SAFE_LINK = /^(?:https?:|mailto:)/i;

export const ALLOWED_TAGS = [
  "p", "h3", "h4", "h5", "h6", "pre", "code", "ul", "ol", "li", "blockquote", "strong", "em", "del", "a", "span",
  "table", "thead", "tbody", "tr", "th", "td", "hr", "br",
]; // prettier-ignore
export const ALLOWED_ATTRIBUTES = ["href", "title", "start", "align", "class"];

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escape = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

const marked = new Marked({
  gfm: true,
  breaks: false,
  renderer: {
    // Raw HTML a model writes is shown as the text it is.
    html({ text }) {
      return escape(text);
    },
    // Only web and mail links; any other address is shown as text beside its words.
    link({ href, title, tokens }) {
      const words = this.parser.parseInline(tokens);
      let url;
      try {
        url = encodeURI(href ?? "").replace(/%25/g, "%");
      } catch {
        return words;
      }
      if (!SAFE_LINK.test(url)) return `${words} (${escape(href)})`;
      return `<a href="${escape(url)}"${title ? ` title="${escape(title)}"` : ""}>${words}</a>`;
    },
    // No images from model text: their description instead, linked when the address is a web address.
    image({ href, text }) {
      const words = `[image: ${text || "no description"}]`;
      return SAFE_LINK.test(href ?? "") ? `<a href="${escape(href)}">${escape(words)}</a>` : escape(words);
    },
    // The panel's own title is the page's heading: a model's # is a third-level heading there.
    heading({ tokens, depth }) {
      const level = Math.min(depth + 2, 6);
      return `<h${level}>${this.parser.parseInline(tokens)}</h${level}>\n`;
    },
    // Task lists read as text: no form controls from model text.
    checkbox({ checked }) {
      return checked ? "☑ " : "☐ ";
    },
  },
});

/** The HTML marked makes of `markdown`, before sanitising (pure: the node tests check it). */
export function toHtml(markdown) {
  return marked.parse(String(markdown ?? ""), { async: false });
}

let purifier = null;

/** DOMPurify, set up once: links open in a new tab with no opener, and classes only name a code's language. */
function purify() {
  if (purifier) return purifier;
  purifier = DOMPurify;
  purifier.addHook("afterSanitizeAttributes", (node) => {
    if (node.tagName === "A") {
      node.setAttribute("target", "_blank");
      node.setAttribute("rel", "noopener noreferrer");
    }
    if (node.hasAttribute?.("class")) {
      const language = node.tagName === "CODE" ? /^language-[\w+-]{1,40}$/.exec(node.getAttribute("class")) : null;
      if (language) node.setAttribute("class", language[0]);
      else node.removeAttribute("class");
    }
  });
  return purifier;
}

/** A sanitised DOM fragment of `markdown`, in `doc`; with no DOM to sanitise in, the text itself. */
export function toFragment(markdown, doc = document) {
  const dompurify = purify();
  if (!dompurify.isSupported) {
    // DOMPurify hands back its input when it cannot work: never let that reach the page as markup.
    const fragment = doc.createDocumentFragment();
    fragment.append(doc.createTextNode(String(markdown ?? "")));
    return fragment;
  }
  const fragment = dompurify.sanitize(toHtml(markdown), {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ALLOWED_ATTRIBUTES,
    ALLOWED_URI_REGEXP: SAFE_LINK,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const pre of fragment.querySelectorAll("pre")) addCopyButton(pre, doc);
  return fragment;
}

/** A code block gets a Copy button that copies its text. */
function addCopyButton(pre, doc) {
  const block = doc.createElement("div");
  block.className = "codeblock";
  const button = doc.createElement("button");
  button.type = "button";
  button.className = "copy";
  button.textContent = "Copy";
  button.title = "Copy the code";
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(pre.textContent);
      button.textContent = "Copied";
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => (button.textContent = "Copy"), 1500);
  });
  pre.replaceWith(block);
  block.append(button, pre);
}

export function renderMarkdown(container, markdown) {
  container.replaceChildren(toFragment(markdown, container.ownerDocument));
}
