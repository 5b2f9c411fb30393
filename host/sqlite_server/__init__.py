"""The built-in SQLite MCP server, run by the host as a stdio child (``python -m host.sqlite_server``)."""
