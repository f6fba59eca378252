"""Scenario folders: loading and checking ``scenario.toml`` and the steps."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "SCENARIO_FILE",
    "Scenario",
    "ScenarioError",
    "SetupUser",
    "Step",
    "find_scenarios",
    "load_scenario",
]

SCENARIO_FILE = "scenario.toml"
_STEP = re.compile(r"^(\d+)-([A-Za-z0-9_.-]+)\.request\.json$")
_REQUEST_KEYS = {"method", "path", "query", "query_base64", "policy_key", "headers", "body"}
_REQUEST_KEYS |= {"user", "device"}
_EXPECT_KEYS = {"status", "headers", "body", "ignore"}


class ScenarioError(Exception):
    """A scenario that cannot be loaded or set up, or a gateway out of reach (exit 2)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetupUser:
    name: str
    email: str
    password: str | None = None
    display_name: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    name: str
    folder: Path
    request: Mapping[str, Any]
    expect: Mapping[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    path: Path
    label: str
    description: str
    provenance: str
    version: str
    users: tuple[SetupUser, ...]
    config: str
    seeds: tuple[tuple[str, Path], ...]
    steps: tuple[Step, ...]


def find_scenarios(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """(folder, label) of every scenario in ``paths``: a scenario folder, or
    a folder searched recursively for them."""
    found: list[tuple[Path, str]] = []
    for path in paths:
        if (path / SCENARIO_FILE).is_file():
            found.append((path, path.resolve().name))
            continue
        if not path.is_dir():
            raise ScenarioError(f"{path}: no such folder")
        inside = sorted(p.parent for p in path.rglob(SCENARIO_FILE))
        if not inside:
            raise ScenarioError(f"{path}: no scenario ({SCENARIO_FILE}) found")
        found.extend((p, p.relative_to(path).as_posix()) for p in inside)
    return found


def _read_json(path: Path, keys: set[str]) -> Mapping[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ScenarioError(f"{path}: {exc}") from None
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: expected a JSON object")
    unknown = set(data) - keys
    if unknown:
        raise ScenarioError(f"{path}: unknown key {sorted(unknown)[0]!r}")
    body = data.get("body")
    if body is not None and (not isinstance(body, str) or not (path.parent / body).is_file()):
        raise ScenarioError(f"{path}: body {body!r} is not a file beside it")
    return data


def _load_steps(folder: Path) -> tuple[Step, ...]:
    numbered: list[tuple[int, Step]] = []
    for path in folder.iterdir():
        match = _STEP.match(path.name)
        if not match:
            continue
        name = path.name.removesuffix(".request.json")
        request = _read_json(path, _REQUEST_KEYS)
        expect = _read_json(folder / f"{name}.expect.json", _EXPECT_KEYS)
        if not isinstance(expect.get("status"), int):
            raise ScenarioError(f"{folder / name}.expect.json: status must be a number")
        if "query" in request and "query_base64" in request:
            raise ScenarioError(f"{path}: query and query_base64 exclude each other")
        numbered.append(
            (int(match[1]), Step(name=name, folder=folder, request=request, expect=expect))
        )
    if not numbered:
        raise ScenarioError(f"{folder}: no steps (NN-<Name>.request.json)")
    return tuple(step for _, step in sorted(numbered, key=lambda pair: (pair[0], pair[1].name)))


def _users(raw: Any, where: Path) -> tuple[SetupUser, ...]:
    if not isinstance(raw, list) or not raw:
        raise ScenarioError(f"{where}: [setup] users must list at least one user")
    users = []
    for entry in raw:
        if not isinstance(entry, dict) or not {"name", "email"} <= set(entry):
            raise ScenarioError(f"{where}: each user needs name and email")
        users.append(
            SetupUser(
                name=str(entry["name"]),
                email=str(entry["email"]),
                password=None if entry.get("password") is None else str(entry["password"]),
                display_name=str(entry.get("display_name", "")),
            )
        )
    return tuple(users)


def _seeds(raw: Any, folder: Path, users: tuple[SetupUser, ...]) -> tuple[tuple[str, Path], ...]:
    """``seed = ["a.ics", {user = "bob", file = "b.ics"}]``; a bare name goes to the first user."""
    seeds = []
    for entry in raw or []:
        user, name = (
            (users[0].name, entry)
            if isinstance(entry, str)
            else (entry.get("user", users[0].name), entry.get("file"))
        )
        path = folder / "seed" / str(name)
        if user not in {u.name for u in users}:
            raise ScenarioError(f"{folder / SCENARIO_FILE}: seed {name!r}: no user {user!r}")
        if not path.is_file():
            raise ScenarioError(f"{folder / SCENARIO_FILE}: seed {name!r} is not in seed/")
        seeds.append((str(user), path))
    return tuple(seeds)


def load_scenario(folder: Path, label: str | None = None) -> Scenario:
    """Read and check one scenario folder (ScenarioError names what is wrong)."""
    where = folder / SCENARIO_FILE
    try:
        data = tomllib.loads(where.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ScenarioError(f"{where}: {exc}") from None
    setup = data.get("setup", {})
    for key in ("description", "provenance", "version"):
        if not isinstance(data.get(key), str):
            raise ScenarioError(f"{where}: {key} (a string) is required")
    users = _users(setup.get("users"), where)
    return Scenario(
        path=folder,
        label=label or folder.name,
        description=data["description"],
        provenance=data["provenance"],
        version=data["version"],
        users=users,
        config=str(setup.get("config", "")),
        seeds=_seeds(setup.get("seed"), folder, users),
        steps=_load_steps(folder),
    )
