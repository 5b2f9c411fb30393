"""Notion MCP Bridge native-messaging host.

Kept free of imports on purpose: `python -m host` must put its first frame on the wire within
100 ms of being spawned, and everything imported here is paid for before that.
"""

__version__ = "0.2.0"

#: Version of the browser <-> host message protocol (docs/protocol.md).
PROTOCOL_VERSION = 1

#: Native-messaging host name registered with the browsers.
HOST_NAME = "com.notion_mcp_bridge.host"

#: The extension's stable ID, derived from the public key in extension/manifest.json
#: (sha256 of the DER key, first 32 hex digits mapped 0-f -> a-p). tests/test_extension_id.py checks it.
EXTENSION_ID = "aikfhgidlkadhpijaojkkpakcdplakaf"
