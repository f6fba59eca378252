"""The ``easgw`` command line.

``serve``, ``config show``, ``users``, ``devices``, ``providers``, ``links``, ``decode``, ``encode``
(and ``replay``). Errors go to stderr as one line and exit with status 2;
never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from easgw import __version__
from easgw.cli import admin, codec, links, providers, serve
from easgw.cli.errors import CliError
from easgw.config import ConfigError

__all__ = ["main"]

EXIT_USAGE = 2


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="easgw",
        description="easgw: an Exchange ActiveSync gateway with server-generated conference links.",
    )
    parser.add_argument("--version", action="version", version=f"easgw {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    serve.add_parsers(commands)
    admin.add_parsers(commands)
    providers.add_parsers(commands)
    links.add_parsers(commands)
    codec.add_parsers(commands)
    _add_replay(commands)
    return parser


def _add_replay(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    try:
        replay = importlib.import_module("easgw.cli.replay")
    except ImportError:  # pragma: no cover - arrives with the replay tool
        return
    replay.add_parsers(commands)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.handler(args, sys.stdin.buffer, sys.stdout.buffer)
    except (CliError, ConfigError) as exc:
        sys.stderr.write(f"easgw {args.command}: {exc}\n")
        return EXIT_USAGE
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130
    return status
