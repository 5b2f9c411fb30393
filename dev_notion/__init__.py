"""A local Notion-compatible MCP server with OAuth, for tests and the demo."""
