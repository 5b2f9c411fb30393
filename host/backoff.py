"""Capped exponential backoff with jitter, for reconnecting to servers."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    """Delays of base·2ⁿ capped at ``cap``, each drawn from [½·d, d] so many clients do not retry in step.

    A server's own hint (an SSE ``retry`` field or a ``Retry-After`` header) wins when it asks for longer.
    """

    base: float = 0.5
    cap: float = 30.0
    rng: random.Random = field(default_factory=random.Random)
    attempts: int = 0

    def next_delay(self, hint: float | None = None) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempts))
        self.attempts += 1
        delay = self.rng.uniform(ceiling / 2, ceiling)
        if hint is not None and hint > delay:
            delay = min(hint, self.cap * 4)
        return delay

    def reset(self) -> None:
        self.attempts = 0
