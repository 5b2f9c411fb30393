"""What the host does for each request: one module per group of verbs, each verb's model beside its handler.

Importing this package fills the table in host.protocol.verbs (``VERBS``), in the order docs/protocol.md lists
them. A handler takes the host's ``Services`` and a validated request, and returns the result or raises a
``BridgeError``; anything else it raises is a bug, reported as ``internal`` with the exception's words.
"""

from host.actions import auth, status, servers, importing, tools, resources, prompts, logs, sampling, chat  # noqa: F401, I001  (order: the docs' order)
from host.protocol.verbs import VERBS

__all__ = ["VERBS"]
