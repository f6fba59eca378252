"""Replay fixture scenarios against a gateway (CONTRACTS.md section 2).

A scenario is a folder holding ``scenario.toml`` and numbered steps
``NN-<Name>.request.json`` / ``NN-<Name>.expect.json`` with their body files.
Each step is sent over real HTTP, in order, to a fresh in-process gateway (or
to ``--url``), and the answer is compared with the expectation: status,
required headers, and the body as a tree, element by element.

Forgiven differences, and only these:

* ``{{capture:NAME}}`` in an expected text matches any text there and binds
  NAME; ``{{NAME}}`` in a later request (body, query, headers, the base64
  query's policy key) or expectation stands for the bound value;
* clock stamps: the text of an element named in :data:`CLOCK_ELEMENTS` when
  both sides are EAS date-times (``20261125T100000Z`` or
  ``2026-11-25T10:00:00.000Z``) -- the server writes them from its clock;
  every other date-time (a StartTime) is data under test and compared exactly;
* the content of elements at the step's ``ignore`` paths.

docs/testing.md describes the format for testers.
"""

from __future__ import annotations

from easgw.replay.compare import CLOCK_ELEMENTS, check_answer, compare_trees, render_tree
from easgw.replay.run import EAS_PATH, build_request, replay, run_scenario
from easgw.replay.scenario import (
    SCENARIO_FILE,
    Scenario,
    ScenarioError,
    find_scenarios,
    load_scenario,
)

__all__ = [
    "CLOCK_ELEMENTS",
    "EAS_PATH",
    "SCENARIO_FILE",
    "Scenario",
    "ScenarioError",
    "build_request",
    "check_answer",
    "compare_trees",
    "find_scenarios",
    "load_scenario",
    "render_tree",
    "replay",
    "run_scenario",
]
