"""The SQLite server's default bounds, apart so its command line can name them without importing the server."""

DEFAULT_MAX_RESULT_BYTES = 4 * 1024 * 1024
DEFAULT_STATEMENT_TIMEOUT_S = 30.0
