// Reading what Notion's hosted tools answer. Most answer JSON in a text block: search {results: [{id, title, url,
// type, …}]}, fetch {metadata: {type}, title, url, icon, text, …} with the page or database written in Notion's tags
// inside `text`, queries {results: [rows], has_more}. Refusals are error results holding {code, message}, or the
// MCP SDK's "Input validation error" text. Pure: node tests feed it answers in the hosted server's shapes.

/** The text of a tool result's text blocks, joined. */
export function resultText(result) {
  return (result?.content ?? []).filter((b) => b.type === "text").map((b) => b.text).join("\n");
}

/** The JSON a result's text holds, or null. */
export function resultJson(result) {
  try {
    const value = JSON.parse(resultText(result));
    return value && typeof value === "object" ? value : null;
  } catch {
    return null;
  }
}

/** Why a call failed, in words, with Notion's code where it gave one; null when it did not fail. */
export function toolError(result) {
  if (!result?.isError) return null;
  const json = resultJson(result);
  const error = json?.error && typeof json.error === "object" ? json.error : json;
  if (error?.code || error?.message) return { code: String(error.code ?? "error"), message: String(error.message ?? error.code), upgradeUrl: error.upgrade_url ?? null };
  const text = resultText(result) || "the tool failed without saying why";
  return { code: /Input validation error/.test(text) ? "invalid_arguments" : "error", message: text, upgradeUrl: null };
}

/** Refusals that mean "your plan does not include this" rather than "you asked wrongly". */
const NOT_ON_THIS_PLAN = new Set(["plan_required", "upgrade_required", "full_version_required", "not_enabled", "usage_limit_reached", "limit_reached"]);
export const isPlanRefusal = (error) => Boolean(error && NOT_ON_THIS_PLAN.has(error.code));

/** Whether `fetch self`'s current_tool_access lets a tool be used (absent: nothing is known, so yes). */
export function accessAllows(self, tool) {
  const status = self?.access?.[tool]?.status ?? self?.access?.[tool];
  return !status || status === "available" || status === "available_with_limit";
}

/** Search hits: [{id, title, url, type, timestamp, highlight}]. */
export function searchHits(result) {
  const json = resultJson(result);
  return Array.isArray(json?.results) ? json.results.filter((r) => r && typeof r === "object") : [];
}

/** The connected workspace and person, from `fetch {"id": "self"}`: {workspace: {id, name, icon}, user, access}. */
export function selfInfo(result) {
  const self = resultJson(result)?.self;
  if (!self?.workspace?.name) return null;
  return { workspace: self.workspace, user: self.user ?? null, access: self.current_tool_access ?? {} };
}

/** An icon to show: an emoji as text, or an image address; from Notion's icon object or a plain string. */
export function iconOf(icon) {
  if (!icon) return { emoji: null, url: null };
  if (typeof icon === "string") return /^https:\/\//.test(icon) ? { emoji: null, url: icon } : { emoji: icon, url: null };
  if (icon.type === "emoji") return { emoji: icon.emoji, url: null };
  const url = icon.external?.url ?? icon.file?.url ?? icon.custom_emoji?.url ?? null;
  return { emoji: null, url: url && /^https:\/\//.test(url) ? url : null };
}

/** A Notion address that is safe to open: https only. */
export function safeUrl(url) {
  const text = String(url ?? "").replace(/^\{\{|\}\}$/g, "");
  return /^https:\/\/[^\s]+$/.test(text) ? text : null;
}

const unwrap = (url) => String(url ?? "").replace(/^\{\{|\}\}$/g, "");
const ENTITIES = { "&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'", "&#x27;": "'", "&apos;": "'" };
const decode = (text) => String(text).replace(/&(?:amp|lt|gt|quot|#39|#x27|apos);/g, (e) => ENTITIES[e]);

function between(text, tag) {
  const open = text.indexOf(`<${tag}>`);
  if (open === -1) return null;
  const start = open + tag.length + 2;
  const end = tag === "content" ? text.lastIndexOf(`</${tag}>`) : text.indexOf(`</${tag}>`, start);
  return end === -1 ? null : text.slice(start, end).replace(/^\n/, "").replace(/\n$/, "");
}

/** The data sources a database's or data source's fetch describes: [{url, name, schema: {name: {type, options}}}]. */
export function dataSourcesOf(text) {
  const found = [];
  for (const match of String(text).matchAll(/<data-source url="([^"]+)">([\s\S]*?)<\/data-source>/g)) {
    const stateText = between(match[2], "data-source-state");
    let state = {};
    try {
      state = stateText ? JSON.parse(stateText) : {};
    } catch {
      state = {};
    }
    const schema = {};
    for (const [name, property] of Object.entries(state.schema ?? {})) {
      schema[name] = {
        type: property.type,
        options: (property.options ?? []).map((o) => (typeof o === "string" ? o : o.name)),
        readOnly: Boolean(property.readOnly),
      };
    }
    found.push({ url: unwrap(match[1]), name: state.name ?? "", schema });
  }
  return found;
}

/** A fetch answer: {type, title, url, icon, path, text, properties, content, dataSources, views}. */
export function entityOf(result) {
  const json = resultJson(result);
  if (!json?.metadata?.type || typeof json.text !== "string") return null;
  const text = json.text;
  const entity = { type: json.metadata.type, title: json.title ?? "", url: json.url ?? "", icon: json.icon ?? null, path: json.path ?? "", text };
  if (entity.type === "page") {
    try {
      entity.properties = JSON.parse(between(text, "properties") ?? "{}");
    } catch {
      entity.properties = {};
    }
    entity.content = between(text, "content") ?? "";
    const parent = /<parent-data-source url="([^"]+)"/.exec(text);
    entity.dataSourceUrl = parent ? unwrap(parent[1]) : null;
  }
  if (entity.type === "database" || entity.type === "data_source") entity.dataSources = dataSourcesOf(text);
  if (entity.type === "database") {
    entity.views = [...text.matchAll(/<view url="([^"]+)">\n?([\s\S]*?)\n?<\/view>/g)].map((m) => {
      let state = {};
      try {
        state = JSON.parse(m[2]);
      } catch {
        state = {};
      }
      return { url: unwrap(m[1]), name: state.name ?? "", type: state.type ?? "" };
    });
  }
  return entity;
}

/** A query's rows and whether more were left out. */
export function queryRows(result) {
  const json = resultJson(result);
  return { rows: Array.isArray(json?.results) ? json.results : [], hasMore: Boolean(json?.has_more) };
}

/** The pages a create answer names: [{id, url}]. */
export function createdPages(result) {
  const json = resultJson(result);
  if (Array.isArray(json?.pages)) return json.pages.map((p) => ({ id: p.id ?? null, url: p.url ?? null }));
  const text = resultText(result);
  const found = [...text.matchAll(/https:\/\/[^\s"'}]+/g)].map((m) => ({ id: null, url: m[0] }));
  return found;
}

/** The people in a get-users answer: [{id, name, email, type}]. */
export function usersOf(result) {
  const json = resultJson(result);
  return Array.isArray(json?.results) ? json.results.filter((u) => u?.id && u.type !== "bot") : [];
}

export { decode as decodeEntities };
