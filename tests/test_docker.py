"""docker/ is checked by lint only (no Docker engine here): paths and commands exist."""

from __future__ import annotations

import re

from easgw.config import load_config
from tests.conftest import REPO


def test_dockerfile_copies_existing_paths_and_runs_a_real_command() -> None:
    text = (REPO / "docker" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (\S+)", text, flags=re.M):
        assert (REPO / source).exists(), source
    assert '"easgw", "serve"' in text
    assert "/healthz" in text


def test_compose_environment_names_real_settings() -> None:
    text = (REPO / "docker" / "compose.yaml").read_text()
    env = dict(re.findall(r"^\s+(EASGW_\w+): (\S+)$", text, flags=re.M))
    assert env
    config = load_config(env=env)
    assert config.store.type == "caldav"
    assert config.database_url.startswith("postgresql+asyncpg://")
