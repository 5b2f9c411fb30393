"""The knobs that size the long suites (soak seconds, fuzz frames, kills), read once, checked where they are used.

Each can be turned down for a quick local run, but never to nothing: a suite that sent no frame or killed no
server would pass without having tested anything. In CI (``CI=true``; .ci/run exports the values it pins) a
knob below the value docs/reliability.md publishes fails the test that uses it, so the published figures are
the ones CI runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@dataclass(frozen=True)
class Knob:
    name: str
    value: float
    published: float
    """What docs/reliability.md reports and CI runs."""

    def check(self) -> None:
        """Fail the calling test if this knob makes it vacuous, or (in CI) smaller than what is published."""
        assert self.value > 0, (
            f"{self.name}={self.value:g} would make this test pass without testing anything"
        )
        if in_ci():
            assert self.value >= self.published, (
                f"{self.name}={self.value:g} in CI, where the published figure needs {self.published:g}"
            )

    def __int__(self) -> int:
        return int(self.value)

    def __float__(self) -> float:
        return float(self.value)


def knob(name: str, published: float) -> Knob:
    """The knob ``name``, defaulting to its published value."""
    raw = os.environ.get(name)
    try:
        value = float(raw) if raw not in (None, "") else published
    except ValueError:
        raise AssertionError(f"{name}={raw!r} is not a number") from None
    return Knob(name, value, published)


SOAK_S = knob("NOTION_BRIDGE_SOAK_S", 300)
SHARED_STORE_S = knob("NOTION_BRIDGE_SHARED_STORE_S", 60)
REFRESH_KILLS = knob("NOTION_BRIDGE_KILLS", 24)
FUZZ_FRAMES = knob("NOTION_BRIDGE_FUZZ_FRAMES", 100_000)
FAULT_KILLS = knob("NOTION_BRIDGE_FAULT_KILLS", 20)
EXIT_RUNS = knob("NOTION_BRIDGE_EXIT_RUNS", 20)
IDLE_S = knob("NOTION_BRIDGE_IDLE_S", 600)

ALL = (SOAK_S, SHARED_STORE_S, REFRESH_KILLS, FUZZ_FRAMES, FAULT_KILLS, EXIT_RUNS, IDLE_S)
