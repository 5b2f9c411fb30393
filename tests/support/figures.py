"""Figures a test measured on the way: printed, and kept under artifacts/figures/ for the reliability report.

Tests assert behaviour; these are the counts and times behind it (how many frames, kills, recoveries), kept so a
run of the whole suite leaves them behind without -s.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FOLDER = Path(__file__).resolve().parents[2] / "artifacts" / "figures"


def record(name: str, figures: dict[str, Any]) -> None:
    FOLDER.mkdir(parents=True, exist_ok=True)
    text = json.dumps(figures, indent=1, ensure_ascii=False)
    (FOLDER / f"{name}.json").write_text(text + "\n", encoding="utf-8")
    print(f"\n{name}: {json.dumps(figures, ensure_ascii=False)}")
