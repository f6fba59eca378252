"""protocol/ is sans-IO (STYLE.md 1): a walk over its modules' imports."""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO

FORBIDDEN = {"aiohttp", "asyncio", "sqlalchemy", "httpx", "easgw", "providers", "logging"}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_protocol_imports_nothing_forbidden() -> None:
    offenders = {
        str(path.relative_to(REPO)): sorted(_imports(path) & FORBIDDEN)
        for path in (REPO / "protocol").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_providers_never_import_easgw() -> None:
    offenders = [
        str(path.relative_to(REPO))
        for path in (REPO / "providers").rglob("*.py")
        if "easgw" in _imports(path)
    ]
    assert offenders == []
