"""Every scenario under fixtures/ replays green against a fresh gateway, and
``easgw replay fixtures/`` says so (exit 0). Each ``.wbxml`` agrees with its
``.xml`` twin (the twin is ``easgw decode`` output, plus comments citing the spec)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from easgw.replay import find_scenarios, load_scenario, render_tree, run_scenario
from protocol import wbxml
from tests.conftest import REPO

FIXTURES = REPO / "fixtures"
SCENARIOS = find_scenarios([FIXTURES])
WBXML_FILES = sorted(FIXTURES.rglob("*.wbxml"))
_COMMENTED = etree.XMLParser(remove_comments=True, resolve_entities=False, no_network=True)


def test_the_first_contact_fixtures_are_there() -> None:
    labels = {label for _, label in SCENARIOS}
    assert {
        "iphone-16.1/first-contact",
        "android-14.1/first-contact",
        "eas-12.1/first-contact",
    } <= labels


@pytest.mark.parametrize(("folder", "label"), SCENARIOS, ids=[label for _, label in SCENARIOS])
async def test_the_scenario_replays_green(folder: Path, label: str) -> None:
    scenario = load_scenario(folder, label)
    assert scenario.provenance.strip() and scenario.description.strip()
    lines: list[str] = []
    passed = await run_scenario(scenario, emit=lines.append)
    assert passed, "\n".join(lines)
    assert len(lines) == len(scenario.steps)


@pytest.mark.parametrize(
    "path", WBXML_FILES, ids=[str(p.relative_to(FIXTURES)) for p in WBXML_FILES]
)
def test_each_wbxml_agrees_with_its_xml_twin(path: Path) -> None:
    twin = path.with_suffix(".xml")
    assert twin.is_file(), f"{twin.name} is missing: make it with `easgw decode {path.name}`"
    data = path.read_bytes()
    written = etree.fromstring(twin.read_bytes(), _COMMENTED)
    assert render_tree(wbxml.decode(data)) == render_tree(written)
    assert wbxml.encode(written) == data  # `easgw encode` of the twin gives the bytes back


def test_easgw_replay_fixtures_exits_0() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "easgw", "replay", str(FIXTURES)],
        capture_output=True,
        timeout=120,
        check=False,
        cwd=REPO,
    )
    out = done.stdout.decode()
    assert done.returncode == 0, out + done.stderr.decode()
    steps = sum(len(load_scenario(folder).steps) for folder, _ in SCENARIOS)
    assert out.count("PASS ") == steps and "FAIL" not in out
    assert done.stderr == b""
