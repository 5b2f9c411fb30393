// Quick forms for Notion's everyday jobs: each is a small schema for the form and a function that turns what
// the person typed into the tool's real arguments. Shown when the server offers the tool they need.

const CONDITIONS = ["equals", "contains", "does_not_equal", "greater_than", "less_than", "is_empty", "is_not_empty", "before", "after"];
const TYPES = ["rich_text", "title", "number", "select", "multi_select", "checkbox", "date", "url", "people"];

function typed(type, value) {
  if (type === "number") return Number(value);
  if (type === "checkbox") return value === "true" || value === true;
  return value;
}

export const QUICK_ACTIONS = [
  {
    id: "search",
    title: "Search",
    tool: "notion-search",
    schema: { type: "object", required: ["query"], properties: { query: { type: "string", title: "Search for" } } },
    build: ({ query }) => ({ query }),
  },
  {
    id: "fetch",
    title: "Fetch a page",
    tool: "notion-fetch",
    schema: { type: "object", required: ["page"], properties: { page: { type: "string", title: "Page URL or id" } } },
    build: ({ page }) => ({ id: page }),
  },
  {
    id: "query",
    title: "Query a database",
    tool: "notion-query-data-sources",
    schema: {
      type: "object",
      required: ["data_source_id"],
      properties: {
        data_source_id: { type: "string", title: "Database (data source) id" },
        property: { type: "string", title: "Filter on property", description: "Leave empty for every row" },
        property_type: { type: "string", title: "Property type", enum: TYPES, default: "rich_text" },
        condition: { type: "string", title: "Condition", enum: CONDITIONS, default: "equals" },
        value: { type: "string", title: "Value" },
        sort_by: { type: "string", title: "Sort by property" },
        direction: { type: "string", title: "Direction", enum: ["ascending", "descending"], default: "ascending" },
      },
    },
    build: ({ data_source_id, property, property_type = "rich_text", condition = "equals", value, sort_by, direction = "ascending" }) => {
      const args = { data_source_id };
      if (property) {
        const operand = condition === "is_empty" || condition === "is_not_empty" ? true : typed(property_type, value ?? "");
        args.filter = { property, [property_type]: { [condition]: operand } };
      }
      if (sort_by) args.sorts = [{ property: sort_by, direction }];
      return args;
    },
  },
  {
    id: "create",
    title: "Create a page from Markdown",
    tool: "notion-create-pages",
    schema: {
      type: "object",
      required: ["parent_id", "title"],
      properties: {
        parent_kind: { type: "string", title: "Parent is a", enum: ["database", "page"], default: "database" },
        parent_id: { type: "string", title: "Parent id" },
        title_property: { type: "string", title: "Title property (databases)", default: "Name" },
        title: { type: "string", title: "Title" },
        markdown: { type: "string", title: "Content (Markdown)", format: "markdown" },
      },
    },
    build: ({ parent_kind = "database", parent_id, title_property = "Name", title, markdown = "" }) => ({
      parent: parent_kind === "page" ? { page_id: parent_id } : { database_id: parent_id },
      pages: [{ properties: { [parent_kind === "page" ? "title" : title_property]: title }, content: markdown }],
    }),
  },
  {
    id: "comment",
    title: "Comment on a page",
    tool: "notion-create-comment",
    schema: {
      type: "object",
      required: ["page_id", "text"],
      properties: { page_id: { type: "string", title: "Page id" }, text: { type: "string", title: "Comment" } },
    },
    build: ({ page_id, text }) => ({ page_id, rich_text: [{ text: { content: text } }] }),
  },
];

/** The quick actions a server supports, judged by the tools it lists. */
export function quickActionsFor(toolNames) {
  const offered = new Set(toolNames);
  return QUICK_ACTIONS.filter((action) => offered.has(action.tool));
}
