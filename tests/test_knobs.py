"""The knobs that size the long suites: never vacuous, pinned by .ci/run in CI to what docs/reliability.md publishes."""

from __future__ import annotations

import re

import pytest

from tests.support import knobs
from tests.support.processes import ROOT


def ci_run() -> str:
    return (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_ci_run_pins_every_knob_at_its_published_value_and_prints_it():
    text = ci_run()
    ci_block = re.search(r'if \[ "\$\{CI:-\}" = "true" \]; then\n(.*?)\nfi\n', text, re.S)
    assert ci_block, "the CI block is gone from .ci/run"
    pinned = dict(re.findall(r"export (NOTION_BRIDGE_\w+)=(\S+)", ci_block.group(1)))
    assert len(knobs.ALL) >= 6
    for knob in knobs.ALL:
        assert float(pinned.get(knob.name, "nan")) == knob.published, f"{knob.name} is not pinned in CI"
        printed = re.search(r"for knob in (.*?); do", text, re.S)
        assert printed and knob.name in printed.group(1), f"{knob.name} is not printed"


def test_ci_run_fails_when_the_node_tests_are_missing():
    text = ci_run()
    assert 'echo "FATAL: no node tests' in text and "exit 1" in text.split("FATAL: no node tests")[1][:80]
    assert list((ROOT / "extension" / "tests").glob("*.test.mjs")), "the node tests exist"


@pytest.mark.parametrize("value", ["0", "-1"])
def test_a_knob_at_zero_fails_the_test_that_uses_it(monkeypatch, value):
    monkeypatch.setenv("NOTION_BRIDGE_FUZZ_FRAMES", value)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(AssertionError, match="without testing anything"):
        knobs.knob("NOTION_BRIDGE_FUZZ_FRAMES", 100_000).check()


def test_a_knob_below_the_published_value_fails_only_in_ci(monkeypatch):
    monkeypatch.setenv("NOTION_BRIDGE_SOAK_S", "20")
    monkeypatch.delenv("CI", raising=False)
    knobs.knob("NOTION_BRIDGE_SOAK_S", 300).check()  # a quick local run
    monkeypatch.setenv("CI", "true")
    with pytest.raises(AssertionError, match="in CI"):
        knobs.knob("NOTION_BRIDGE_SOAK_S", 300).check()
    monkeypatch.setenv("NOTION_BRIDGE_SOAK_S", "300")
    knobs.knob("NOTION_BRIDGE_SOAK_S", 300).check()


def test_an_unset_knob_is_the_published_value(monkeypatch):
    monkeypatch.delenv("NOTION_BRIDGE_FAULT_KILLS", raising=False)
    assert int(knobs.knob("NOTION_BRIDGE_FAULT_KILLS", 20)) == 20
