"""axe-core, injected into an extension page through the WebDriver, and its findings.

Runs in the page through DevTools, which an extension page's CSP (script-src 'self') does not govern; the
extension itself never loads axe.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from selenium import webdriver

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_VERSION = "4.14.1"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
#: The impact levels a page must have none of.
BLOCKING = ("serious", "critical")

_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then((results) => done({version: axe.version, violations: results.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.map((n) => ({target: n.target.join(" "), summary: n.failureSummary}))}))}))
  .catch((error) => done({error: String(error)}));
"""


def _source() -> str:
    data = AXE.read_bytes()
    if hashlib.sha256(data).hexdigest() != AXE_SHA256:
        raise AssertionError(f"{AXE} is not the vendored axe-core {AXE_VERSION}")
    return data.decode("utf-8")


def audit(driver: webdriver.Chrome) -> list[dict[str, Any]]:
    """Every axe violation on the page now loaded: id, impact, help and the offending nodes."""
    if not driver.execute_script("return typeof window.axe !== 'undefined'"):
        driver.execute_script(_source())
    driver.set_script_timeout(60)
    outcome = driver.execute_async_script(_RUN)
    if "error" in outcome:
        raise AssertionError(f"axe failed: {outcome['error']}")
    assert outcome["version"] == AXE_VERSION, outcome["version"]
    return list(outcome["violations"])


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING]


def describe(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"{violation['impact']}: {violation['id']}: {violation['help']}")
        lines += [f"    {node['target']}: {node['summary']}" for node in violation["nodes"][:5]]
    return "\n".join(lines)
