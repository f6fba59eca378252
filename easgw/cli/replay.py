"""``easgw replay DIR... [--url URL]``: run fixture scenarios (CONTRACTS.md section 2).

Exit status 0 when every step passes, 1 on any mismatch, 2 on a usage or
set-up error (one line on stderr, never a traceback).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
from pathlib import Path
from typing import BinaryIO

from easgw.cli.errors import CliError
from easgw.replay import ScenarioError, replay

__all__ = ["add_parsers"]


def cmd_replay(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin
    # The in-process gateway logs like a server; only its errors matter here.
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s %(message)s")

    def emit(text: str) -> None:
        stdout.write(text.encode("utf-8") + b"\n")
        stdout.flush()

    if args.timeout <= 0:
        raise CliError("--timeout must be positive")
    try:
        return asyncio.run(
            replay(
                [Path(d) for d in args.dirs],
                emit=emit,
                url=args.url,
                timeout=args.timeout,
                verify_tls=not args.insecure,
            )
        )
    except ScenarioError as exc:
        raise CliError(str(exc)) from None


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "replay",
        help="replay fixture scenarios and compare the answers",
        description=(
            "Replay scenarios (folders with scenario.toml, or folders holding them) against a "
            "fresh in-process gateway each, or against --url. One line per step; a diff for "
            "each mismatch; exit status 1 on any mismatch."
        ),
    )
    parser.add_argument("dirs", nargs="+", metavar="DIR", help="scenario folder or folder of them")
    parser.add_argument(
        "--url", metavar="URL", help="a running gateway (https://host:port) instead of in-process"
    )
    parser.add_argument(
        "--timeout", type=float, default=300, metavar="SECONDS", help="per request (default 300)"
    )
    parser.add_argument(
        "--insecure", action="store_true", help="with --url: do not verify the TLS certificate"
    )
    parser.set_defaults(handler=cmd_replay)
