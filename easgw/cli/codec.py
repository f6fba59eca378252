"""``easgw decode`` and ``easgw encode``: the WBXML codec for testers."""

from __future__ import annotations

import argparse
import contextlib
import xml.parsers.expat
from typing import BinaryIO

from lxml import etree

from easgw.cli.errors import CliError
from protocol import wbxml

# The fragment wrapper (../shared/vectors/PROVENANCE.md): AirSync ApplicationData.
_FRAGMENT_START = wbxml.HEADER + b"\x5d"


def _read_input(name: str, stdin: BinaryIO) -> bytes:
    if name == "-":
        return stdin.read()
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise CliError(f"cannot read {name}: {exc.strerror}") from None


def cmd_decode(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    data = _read_input(args.file, stdin)
    try:
        root = wbxml.decode_fragment(data) if args.fragment else wbxml.decode(data)
    except wbxml.WbxmlError as exc:
        raise CliError(f"{_label(args.file)}: {exc}") from None
    stdout.write(etree.tostring(root, pretty_print=True, encoding="utf-8"))
    return 0


def cmd_encode(args: argparse.Namespace, stdin: BinaryIO, stdout: BinaryIO) -> int:
    text = _read_input(args.file, stdin)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_comments=False)
    try:
        root = etree.fromstring(text, parser)
    except etree.XMLSyntaxError as exc:
        line, column = exc.position
        raise CliError(
            f"{_label(args.file)}:{line}:{column}: not well-formed XML: {exc.msg}"
        ) from None
    try:
        data = wbxml.encode(root)
    except wbxml.WbxmlEncodeError as exc:
        line, column = _position_of(text, root, exc.element)
        raise CliError(f"{_label(args.file)}:{line}:{column}: {exc.reason}") from None
    if args.fragment:
        if not data.startswith(_FRAGMENT_START):
            raise CliError(f"{_label(args.file)}: --fragment needs an AirSync:ApplicationData root")
        data = data[len(_FRAGMENT_START) : -1]
    stdout.write(data)
    return 0


def _label(name: str) -> str:
    return "<stdin>" if name == "-" else name


def _position_of(text: bytes, root: etree._Element, element: etree._Element) -> tuple[int, int]:
    """Line and 1-based column of ``element``'s start tag in the source text.

    lxml knows only lines, so the element's rank in document order is looked up
    again with expat, which reports columns.
    """
    rank = next(
        (index for index, node in enumerate(root.iter(etree.Element)) if node is element), 0
    )
    positions: list[tuple[int, int]] = []
    expat = xml.parsers.expat.ParserCreate()

    def start(_name: str, _attrs: dict[str, str]) -> None:
        positions.append((expat.CurrentLineNumber, expat.CurrentColumnNumber + 1))

    expat.StartElementHandler = start
    with contextlib.suppress(xml.parsers.expat.ExpatError):
        expat.Parse(text, True)
    if rank < len(positions):
        return positions[rank]
    line: int = element.sourceline or 0  # type: ignore[assignment]  # lxml-stubs say Ellipsis
    return (line, 0)


def add_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    decode = commands.add_parser(
        "decode", help="print a WBXML document as XML", description="Decode WBXML to XML."
    )
    decode.add_argument(
        "file", nargs="?", default="-", metavar="FILE", help="WBXML file, - = stdin"
    )
    decode.add_argument(
        "--fragment",
        action="store_true",
        help="input is a header-less sequence of elements; print it inside AirSync:ApplicationData",
    )
    decode.set_defaults(handler=cmd_decode)

    encode = commands.add_parser(
        "encode", help="write XML as a WBXML document", description="Encode XML to WBXML."
    )
    encode.add_argument("file", nargs="?", default="-", metavar="FILE", help="XML file, - = stdin")
    encode.add_argument(
        "--fragment",
        action="store_true",
        help="write only the children of an AirSync:ApplicationData root, without a header",
    )
    encode.set_defaults(handler=cmd_encode)
