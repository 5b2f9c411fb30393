from __future__ import annotations


class ActionError(Exception):
    """A request that cannot be carried out; ``code`` is a protocol error slug, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
