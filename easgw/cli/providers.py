"""``easgw providers list`` and ``easgw providers test ID``.

``list`` prints one configured conference provider a line: ``ID TYPE RESOURCE DISPLAY-NAME``
(tab-separated), after validating every table. ``test ID`` asks that provider for a
throwaway link (a made-up 30-minute meeting in an hour or two, organized by
``--organizer`` or the resource's own address) and prints its URL; with ``--join``, a
second line holds a moderator join URL for providers joined through the gateway's
redirect (Jitsi in JWT mode, BigBlueButton). The link is recorded nowhere and, for
providers that track meetings (StarLeaf, webhook), the meeting is left in place. Any
error is one line on stderr and exit status 2. Neither command opens the database.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

from easgw.cli.common import add_common, config_from
from easgw.cli.errors import CliError
from easgw.config import Config
from providers.conference import (
    ConfiguredProvider,
    EventContext,
    Person,
    ProviderConfigError,
    ProviderError,
    SupportsJoin,
    close_providers,
    load_providers,
)

__all__ = ["add_parsers"]


def _load(config: Config) -> tuple[ConfiguredProvider, ...]:
    try:
        return load_providers(config.conference.providers)
    except ProviderConfigError as exc:
        raise CliError(str(exc)) from None


def cmd_list(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin
    providers = _load(config_from(args))
    for configured in providers:
        s = configured.settings
        stdout.write(f"{s.id}\t{s.type}\t{s.resource}\t{s.display_name}\n".encode())
    asyncio.run(close_providers(providers))
    return 0


def throwaway_context(organizer: str, now: datetime | None = None) -> EventContext:
    """A made-up one-off meeting: 30 minutes, starting on the hour, an hour or two ahead."""
    now = (now or datetime.now(UTC)).replace(minute=0, second=0, microsecond=0)
    start = now + timedelta(hours=2)
    return EventContext(
        uid=f"easgw-provider-test-{secrets.token_hex(8)}",
        summary="easgw provider test",
        start=start,
        end=start + timedelta(minutes=30),
        timezone="UTC",
        organizer=Person(email=organizer, name="easgw provider test"),
    )


async def _test(configured: ConfiguredProvider, organizer: str, join: bool) -> list[str]:
    provider = configured.provider
    context = throwaway_context(organizer)
    try:
        link = await provider.create(context)
        lines = [link.url]
        if join and isinstance(provider, SupportsJoin):
            lines.append(
                await provider.join_url(
                    link, context, moderator=True, display_name="easgw provider test", email=""
                )
            )
    finally:
        await provider.close()
    return lines


def cmd_test(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin
    providers = _load(config_from(args))
    chosen = next((p for p in providers if p.id == args.id), None)
    others = [p for p in providers if p is not chosen]
    asyncio.run(close_providers(others))
    if chosen is None:
        known = ", ".join(p.id for p in providers) or "none configured"
        raise CliError(f"no provider {args.id!r} (known: {known})")
    organizer = args.organizer or chosen.settings.resource
    try:
        lines = asyncio.run(_test(chosen, organizer, args.join))
    except ProviderError as exc:
        raise CliError(f"{chosen.id}: {exc}") from None
    stdout.write("".join(f"{line}\n" for line in lines).encode())
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    providers = commands.add_parser("providers", help="conference-link providers")
    actions = providers.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="ID TYPE RESOURCE DISPLAY-NAME, one a line")
    listing.set_defaults(handler=cmd_list)
    test = actions.add_parser("test", help="create a throwaway link and print its URL")
    test.add_argument("id", metavar="ID")
    test.add_argument("--organizer", metavar="EMAIL", help="the test meeting's organizer")
    test.add_argument(
        "--join", action="store_true", help="also print a moderator join URL (Jitsi JWT, BBB)"
    )
    test.set_defaults(handler=cmd_test)
    for parser in (listing, test):
        add_common(parser)
