"""The three import packages resolve to this repository, not to PyPI namesakes."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from tests.conftest import REPO


@pytest.mark.parametrize("name", ["easgw", "protocol", "providers"])
def test_package_resolves_to_this_repo(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__file__ is not None
    assert Path(module.__file__).resolve().parent == REPO / name


@pytest.mark.parametrize("name", ["easgw", "protocol", "providers"])
def test_package_is_typed(name: str) -> None:
    assert (REPO / name / "py.typed").is_file()
