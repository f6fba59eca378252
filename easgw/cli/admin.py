"""``easgw users ...`` and ``easgw devices ...``."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import BinaryIO

from easgw.cli.common import add_common, config_from, with_gateway
from easgw.cli.errors import CliError
from easgw.devices import DeviceError, Devices
from easgw.gateway import Gateway
from easgw.state.models import DeviceStatus
from easgw.users import UserError, Users


def _read_password(stdin: BinaryIO) -> str:
    line = stdin.readline().decode("utf-8", "replace")
    password = line.rstrip("\r\n")
    if not password:
        raise CliError("no password on standard input")
    return password


def _run(args: argparse.Namespace, work: Callable[[Gateway], Awaitable[None]]) -> None:
    config = config_from(args)
    try:
        asyncio.run(with_gateway(config, work))
    except (UserError, DeviceError) as exc:
        raise CliError(str(exc)) from None


def cmd_users_add(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    config = config_from(args)
    password = None
    if args.password_stdin:
        if config.store.type != "sql":
            raise CliError("with this store, passwords live in the store: drop --password-stdin")
        password = _read_password(stdin)

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions.begin() as session:
            user = await Users(session).add(
                args.name, email=args.email, display_name=args.display_name, password=password
            )
            stdout.write(f"added user {user.login} <{user.email}>\n".encode())

    _run(args, work)
    return 0


def cmd_users_list(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            for user in await Users(session).list():
                has_password = "password" if user.password_hash else "no-password"
                line = f"{user.login}\t{user.email}\t{user.display_name}\t{has_password}\n"
                stdout.write(line.encode())

    _run(args, work)
    return 0


def cmd_users_passwd(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    if config_from(args).store.type != "sql":
        raise CliError("with this store, passwords live in the store: change it there")
    password = _read_password(stdin)

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions.begin() as session:
            await Users(session).set_password(args.name, password)
        stdout.write(f"password changed for {args.name.lower()}\n".encode())

    _run(args, work)
    return 0


def cmd_users_remove(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions.begin() as session:
            await Users(session).remove(args.name)
        stdout.write(f"removed user {args.name.lower()}\n".encode())

    _run(args, work)
    return 0


def cmd_devices_list(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            user = await Users(session).require(args.user) if args.user else None
            for owner, device in await Devices(session).list(user):
                seen = device.last_seen.strftime("%Y-%m-%dT%H:%M:%SZ")
                line = f"{owner.login} {device.device_id} {device.device_type or '-'} "
                stdout.write(f"{line}{device.status} {seen}\n".encode())

    _run(args, work)
    return 0


def _split(target: str) -> tuple[str, str]:
    user, sep, device_id = target.partition("/")
    if not sep or not user or not device_id:
        raise CliError(f"expected USER/DEVICEID, got {target!r}")
    return user, device_id


def cmd_devices_show(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    del stdin
    login, device_id = _split(args.target)

    async def work(gateway: Gateway) -> None:
        async with gateway.database.sessions() as session:
            user = await Users(session).require(login)
            device = await Devices(session).require(user, device_id)
            fields = {
                "user": user.login,
                "device_id": device.device_id,
                "type": device.device_type,
                "status": device.status,
                "wipe": device.wipe_kind or "-",
                "model": device.model,
                "os": device.os,
                "os_language": device.os_language,
                "friendly_name": device.friendly_name,
                "imei": device.imei,
                "phone_number": device.phone_number,
                "mobile_operator": device.mobile_operator,
                "user_agent": device.user_agent,
                "protocol_version": device.protocol_version,
                "provisioned": "yes" if device.policy_key else "no",
                "first_seen": device.first_seen.isoformat(),
                "last_seen": device.last_seen.isoformat(),
            }
            for key, value in fields.items():
                stdout.write(f"{key}: {value}\n".encode())

    _run(args, work)
    return 0


def _device_action(action: str) -> Callable[[argparse.Namespace, BinaryIO, BinaryIO], int]:
    def command(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
        del stdin
        login, device_id = _split(args.target)

        async def work(gateway: Gateway) -> None:
            async with gateway.database.sessions.begin() as session:
                user = await Users(session).require(login)
                devices = Devices(session)
                device = await devices.require(user, device_id)
                if action == "allow":
                    await devices.set_status(device, DeviceStatus.ALLOWED)
                    message = "allowed"
                elif action == "block":
                    await devices.set_status(device, DeviceStatus.BLOCKED)
                    message = "blocked"
                elif action == "wipe":
                    kind = await devices.request_wipe(device, full=args.full)
                    message = f"wipe requested ({'account only' if kind == 'account' else 'full'})"
                else:
                    await devices.remove(device)
                    message = "removed"
            stdout.write(f"{login}/{device_id}: {message}\n".encode())

        _run(args, work)
        return 0

    return command


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="manage users")
    actions = users.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser("add", help="add a user")
    add.add_argument("name")
    add.add_argument("--email", required=True)
    add.add_argument("--display-name", default="")
    add.add_argument("--password-stdin", action="store_true", help="read the password (one line)")
    add.set_defaults(handler=cmd_users_add)
    listing = actions.add_parser("list", help="list users")
    listing.set_defaults(handler=cmd_users_list)
    passwd = actions.add_parser("passwd", help="set a password (read from stdin)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true", help="(the default)")
    passwd.set_defaults(handler=cmd_users_passwd)
    remove = actions.add_parser("remove", help="remove a user and their devices")
    remove.add_argument("name")
    remove.set_defaults(handler=cmd_users_remove)
    for parser in (add, listing, passwd, remove):
        add_common(parser)

    devices = commands.add_parser("devices", help="manage devices")
    actions = devices.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="USER DEVICEID TYPE STATUS LAST-SEEN, one a line")
    listing.add_argument("--user")
    listing.set_defaults(handler=cmd_devices_list)
    show = actions.add_parser("show", help="everything known about a device")
    show.add_argument("target", metavar="USER/DEVICEID")
    show.set_defaults(handler=cmd_devices_show)
    parsers = [listing, show]
    for action, text in [
        ("allow", "allow a quarantined or blocked device"),
        ("block", "block a device (Status 129 / HTTP 403, never data)"),
        ("wipe", "wipe a device on its next contact (account-only where it speaks 16.1)"),
        ("remove", "forget a device partnership"),
    ]:
        parser = actions.add_parser(action, help=text)
        parser.add_argument("target", metavar="USER/DEVICEID")
        if action == "wipe":
            parser.add_argument("--full", action="store_true", help="a full device wipe")
        parser.set_defaults(handler=_device_action(action))
        parsers.append(parser)
    for parser in parsers:
        add_common(parser)
