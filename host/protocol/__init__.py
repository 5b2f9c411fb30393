"""The protocol between the extension and the host (docs/protocol.md is generated from it).

- host.protocol.verbs: requests, validated; the table of verbs and their handlers (declared in host/actions/).
- host.protocol.events: what the host sends: replies and events.
- host.protocol.export: writes docs/protocol.md's tables and the JSON Schema the extension's tests use.

Nothing is imported here: host.protocol.events is read on the host's start-up path, before anything heavy.
"""

#: Version of the browser <-> host message protocol.
from host import PROTOCOL_VERSION as VERSION

__all__ = ["VERSION"]
