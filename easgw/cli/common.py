"""What every subcommand shares: --config / --data-dir and opening the state."""

from __future__ import annotations

import argparse
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from easgw.config import Config, load_config
from easgw.gateway import Gateway

T = TypeVar("T")


def add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file")
    parser.add_argument("--data-dir", metavar="DIR", help="state directory (server.data_dir)")


def config_from(args: argparse.Namespace, **overrides: dict[str, Any]) -> Config:
    """The effective configuration for a subcommand's arguments."""
    merged: dict[str, dict[str, Any]] = {key: dict(value) for key, value in overrides.items()}
    if getattr(args, "data_dir", None):
        merged.setdefault("server", {})["data_dir"] = args.data_dir
    return load_config(getattr(args, "config", None), overrides=merged)


async def with_gateway(config: Config, work: Callable[[Gateway], Awaitable[T]]) -> T:
    """Open (create and migrate on first use) the state, run ``work``, close."""
    gateway = Gateway(config)
    try:
        await gateway.open()
        return await work(gateway)
    finally:
        await gateway.close()
