// Markdown from a model or a tool, rendered without ever handing HTML to the browser.
//
// parse() turns text into a small tree of allowed elements and plain strings; toDom() builds it with
// createElement and text nodes. Raw HTML in the input is just text, and links keep only http(s) and mailto
// targets, so nothing a server or a model writes can run script or load content in an extension page.

const SAFE_LINK = /^(https?:|mailto:)/i;

/** Inline spans: `code`, **bold**, *italic* / _italic_, [text](url). Returns an array of nodes. */
export function inline(text) {
  const out = [];
  let rest = text;
  const patterns = [
    { re: /`([^`]+)`/, make: (m) => ({ tag: "code", children: [m[1]] }) },
    { re: /\*\*([^*]+)\*\*/, make: (m) => ({ tag: "strong", children: inline(m[1]) }) },
    { re: /(?:\*([^*\s][^*]*)\*|_([^_\s][^_]*)_)/, make: (m) => ({ tag: "em", children: inline(m[1] ?? m[2]) }) },
    {
      re: /\[([^\]]+)\]\(([^)\s]+)\)/,
      make: (m) =>
        SAFE_LINK.test(m[2])
          ? { tag: "a", attrs: { href: m[2], target: "_blank", rel: "noopener noreferrer" }, children: inline(m[1]) }
          : { tag: "span", children: [`${m[1]} (${m[2]})`] },
    },
  ];
  while (rest) {
    let best = null;
    for (const pattern of patterns) {
      const match = pattern.re.exec(rest);
      if (match && (best === null || match.index < best.match.index)) best = { match, pattern };
    }
    if (!best) {
      out.push(rest);
      break;
    }
    if (best.match.index > 0) out.push(rest.slice(0, best.match.index));
    out.push(best.pattern.make(best.match));
    rest = rest.slice(best.match.index + best.match[0].length);
  }
  return out;
}

/** Block structure: headings, fenced code, lists, quotes, paragraphs. */
export function parse(markdown) {
  const lines = String(markdown ?? "").replace(/\r\n?/g, "\n").split("\n");
  const blocks = [];
  let paragraph = [];
  const flush = () => {
    if (paragraph.length) blocks.push({ tag: "p", children: inline(paragraph.join(" ")) });
    paragraph = [];
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      flush();
      const code = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i++) code.push(lines[i]);
      blocks.push({ tag: "pre", children: [{ tag: "code", children: [code.join("\n")] }] });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      flush();
      blocks.push({ tag: `h${Math.min(heading[1].length + 2, 6)}`, children: inline(heading[2]) });
      continue;
    }
    const item = /^\s*(?:[-*+]|(\d+)[.)])\s+(.*)$/.exec(line);
    if (item) {
      flush();
      const tag = item[1] ? "ol" : "ul";
      const last = blocks[blocks.length - 1];
      const li = { tag: "li", children: inline(item[2]) };
      if (last && last.tag === tag && last.open) last.children.push(li);
      else blocks.push({ tag, open: true, children: [li] });
      continue;
    }
    const quote = /^>\s?(.*)$/.exec(line);
    if (quote) {
      flush();
      blocks.push({ tag: "blockquote", children: inline(quote[1]) });
      continue;
    }
    if (!line.trim()) {
      flush();
      for (const block of blocks) delete block.open;
      continue;
    }
    paragraph.push(line.trim());
  }
  flush();
  for (const block of blocks) delete block.open;
  return blocks;
}

export const ALLOWED_TAGS = new Set(["p", "h3", "h4", "h5", "h6", "pre", "code", "ul", "ol", "li", "blockquote", "strong", "em", "a", "span"]);

/** Build DOM nodes for a parsed tree; only allowed tags and attributes, strings as text nodes. */
export function toDom(nodes, doc = document) {
  const fragment = doc.createDocumentFragment();
  for (const node of nodes) {
    if (typeof node === "string") {
      fragment.append(doc.createTextNode(node));
      continue;
    }
    if (!ALLOWED_TAGS.has(node.tag)) continue;
    const element = doc.createElement(node.tag);
    for (const [name, value] of Object.entries(node.attrs ?? {})) {
      if (name === "href" && !SAFE_LINK.test(value)) continue;
      if (["href", "target", "rel"].includes(name)) element.setAttribute(name, value);
    }
    element.append(toDom(node.children ?? [], doc));
    fragment.append(element);
  }
  return fragment;
}

export function renderMarkdown(container, markdown) {
  container.replaceChildren(toDom(parse(markdown)));
}
