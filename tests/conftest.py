"""Shared pytest set-up: Hypothesis profiles, paths, per-suite timings."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from hypothesis import HealthCheck, settings

if TYPE_CHECKING:
    import pytest

pytest_plugins = ["tests.databases"]

REPO = Path(__file__).resolve().parents[1]
#: ../shared beside the repository (read in place, never copied; may be absent).
SHARED = REPO.parent / "shared"
VECTORS = SHARED / "vectors"

settings.register_profile(
    "ci",
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

_suite_seconds: dict[str, float] = defaultdict(float)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Add each test's time to its suite (tests/<suite>/...)."""
    parts = Path(report.nodeid.split("::", 1)[0]).parts
    suite = parts[1] if len(parts) > 2 else "(top level)"
    _suite_seconds[suite] += report.duration


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the time each suite took."""
    if not _suite_seconds:
        return
    terminalreporter.section("per-suite timings")
    for suite, seconds in sorted(_suite_seconds.items()):
        terminalreporter.write_line(f"{suite:<16} {seconds:8.2f}s")
