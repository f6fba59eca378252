"""``easgw serve`` and ``easgw config show``."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import ssl
from typing import Any, BinaryIO

from easgw.cli.common import add_common, config_from
from easgw.cli.errors import CliError
from easgw.config import Config, render_config

log = logging.getLogger("easgw.serve")


def _is_loopback(host: str) -> bool:
    if host in {"localhost"}:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _ssl_context(config: Config) -> ssl.SSLContext | None:
    if not config.server.tls_cert:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(config.server.tls_cert, config.server.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot load TLS certificate/key: {exc}") from None
    return context


def cmd_serve(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin, stdout
    overrides: dict[str, dict[str, Any]] = {}
    if args.listen:
        overrides["server"] = {"listen": args.listen}
    if args.record:
        overrides["record"] = {"dir": args.record}
    config = config_from(args, **overrides)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    host, _, port = config.server.listen.rpartition(":")
    host = host.strip("[]")
    context = _ssl_context(config)
    if context is None and not _is_loopback(host):
        log.warning(
            "listening on %s without TLS: phones send passwords in every request; "
            "set server.tls_cert/tls_key or put a TLS proxy in front",
            host,
        )
    from aiohttp import web  # imported on use: other subcommands start faster

    from easgw.app import create_app

    scheme = "https" if context else "http"
    print(f"easgw listening on {scheme}://{config.server.listen}", flush=True)  # noqa: T201
    web.run_app(
        create_app(config),
        host=host,
        port=int(port),
        ssl_context=context,
        shutdown_timeout=10,
        # A client that goes away cancels its handler, so a held Ping or Sync
        # Wait is released at once (STYLE.md 9; state writes are shielded).
        handler_cancellation=True,
        print=None,
        access_log=None,
    )
    return 0


def cmd_config_show(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin
    stdout.write(render_config(config_from(args)).encode("utf-8"))
    return 0


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = commands.add_parser("serve", help="run the gateway", description="Run the gateway.")
    add_common(serve)
    serve.add_argument("--listen", metavar="HOST:PORT", help="address and port (server.listen)")
    serve.add_argument("--record", metavar="DIR", help="record conversations here (record.dir)")
    serve.set_defaults(handler=cmd_serve)

    config = commands.add_parser("config", help="show the effective configuration")
    actions = config.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print the effective configuration, secrets masked")
    add_common(show)
    show.set_defaults(handler=cmd_config_show)
