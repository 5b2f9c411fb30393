"""OAuth for remote MCP servers: the flow (SDK), the browser step (extension), refresh (ours), storage."""
