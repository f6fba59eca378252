#!/usr/bin/env python3
"""WBXML codec throughput: protocol.wbxml.decode/encode against libwbxml's command-line tools.

Run from the repository root: ``python bench/codec.py [--check] [--seconds S] [--save DIR]``.

Two documents are built in the CONTRACTS.md section 1 tree form and encoded once with
``protocol.wbxml.encode``: a calendar Sync response carrying 500 events as Exchange 14.1 sends them
(MS-ASCAL element order) and a FolderSync response with 50 folders. Each is then decoded and encoded
repeatedly; the best run counts. libwbxml's ``wbxml2xml``/``xml2wbxml`` convert the same bytes for
comparison when installed. ``--check`` makes a missed target (or a broken round trip) exit 1.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from protocol import wbxml  # noqa: E402

# Targets (MB = 10**6 bytes of WBXML) for the 500-event Sync response.
TARGET_DECODE_MBS = 15.0
TARGET_ENCODE_MBS = 15.0

from codec_documents import (  # noqa: E402
    EVENTS,
    FOLDERS,
    build_foldersync_response,
    build_sync_response,
)

Element = etree._Element


@dataclass(frozen=True)
class Timing:
    best: float
    runs: int


def time_call(fn: Callable[[], object], budget: float, min_runs: int = 3) -> Timing:
    """Best wall time of ``fn``; as many runs as fit ``budget`` seconds (at least ``min_runs``)."""
    gc.collect()
    start = time.perf_counter()
    fn()
    best = time.perf_counter() - start
    runs = max(min_runs, min(100_000, int(budget / max(best, 1e-9))))
    for _ in range(runs):
        gc.collect()
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return Timing(best, runs + 1)


def time_command(
    argv: Sequence[str], budget: float, min_runs: int = 5, max_runs: int = 200
) -> Timing:
    """Best wall time of a subprocess (including its start-up), within ``budget`` seconds."""

    def run() -> None:
        subprocess.run(
            argv,
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    first = time.perf_counter()
    run()
    best = time.perf_counter() - first
    runs = max(min_runs, min(max_runs, int(budget / max(best, 1e-9))))
    for _ in range(runs):
        start = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - start)
    return Timing(best, runs + 1)


def mbs(size: int, seconds: float) -> float:
    return size / seconds / 1e6


# --------------------------------------------------------------------------- libwbxml

# FolderSync { Status "1" }: the smallest sensible ActiveSync document, to time start-up.
TINY_WBXML = bytes.fromhex("03016a000007564c0331000101")


@dataclass
class LibResult:
    decode: Timing | None
    encode: Timing | None
    note: str = ""


def libwbxml_available() -> bool:
    return shutil.which("wbxml2xml") is not None


def wbxml2xml_argv(src: Path, out: Path) -> list[str]:
    return ["wbxml2xml", "-l", "ACTIVESYNC", "-o", str(out), str(src)]


def xml2wbxml_argv(src: Path, out: Path) -> list[str]:
    return ["xml2wbxml", "-a", "-n", "-v", "1.3", "-o", str(out), str(src)]


def try_command(argv: Sequence[str], out: Path) -> str:
    """Run once; "" if it produced a non-empty ``out``, else a one-line reason."""
    out.unlink(missing_ok=True)
    try:
        proc = subprocess.run(
            argv, check=False, capture_output=True, text=True, errors="replace", timeout=60
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{argv[0]}: {exc}"
    if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        return f"{argv[0]} failed (exit {proc.returncode}): {detail[-1] if detail else 'no output'}"
    return ""


def bench_libwbxml(name: str, data: bytes, work: Path, budget: float) -> LibResult:
    """Time wbxml2xml on ``data``, then xml2wbxml on wbxml2xml's own XML."""
    src, xml, back = work / f"{name}.wbxml", work / f"{name}.xml", work / f"{name}.back.wbxml"
    src.write_bytes(data)
    problem = try_command(wbxml2xml_argv(src, xml), xml)
    if problem:
        return LibResult(None, None, problem)
    decode = time_command(wbxml2xml_argv(src, xml), budget)
    if shutil.which("xml2wbxml") is None:
        return LibResult(decode, None, "xml2wbxml not installed")
    problem = try_command(xml2wbxml_argv(xml, back), back)
    if problem:
        return LibResult(decode, None, problem)
    encode = time_command(xml2wbxml_argv(xml, back), budget)
    return LibResult(decode, encode)


# --------------------------------------------------------------------------- main


@dataclass
class Document:
    name: str
    data: bytes
    elements: int
    decode: Timing
    encode: Timing
    round_trip: bool

    @property
    def decode_mbs(self) -> float:
        return mbs(len(self.data), self.decode.best)

    @property
    def encode_mbs(self) -> float:
        return mbs(len(self.data), self.encode.best)


def bench_document(name: str, root: Element, budget: float) -> Document:
    data = wbxml.encode(root)
    tree = wbxml.decode(data)
    round_trip = wbxml.encode(tree) == data
    elements = sum(1 for _ in tree.iter())
    decode = time_call(lambda: wbxml.decode(data), budget)
    encode = time_call(lambda: wbxml.encode(tree), budget)
    return Document(name, data, elements, decode, encode, round_trip)


def print_table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    print(line)
    print("-" * len(line))
    for row in rows:
        print(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )


def ratio(ours: float, theirs: float | None) -> str:
    return "n/a" if theirs is None or theirs <= 0 else f"{ours / theirs:.2f}x"


def print_libwbxml(docs: Sequence[Document], budget: float, save: Path | None) -> None:
    if not libwbxml_available():
        print(
            "\nlibwbxml: wbxml2xml not found on PATH; comparison skipped "
            "(Debian/Ubuntu: apt-get install libwbxml2-utils)."
        )
        return
    with tempfile.TemporaryDirectory(prefix="easgw-bench-") as tmp:
        work = save or Path(tmp)
        tiny = bench_libwbxml("tiny", TINY_WBXML, work, budget / 2)
        results = {doc.name: bench_libwbxml(doc.name, doc.data, work, budget) for doc in docs}
    if tiny.decode is None:
        print(f"\nlibwbxml: start-up probe failed ({tiny.note}); comparison skipped.")
        return
    start_dec = tiny.decode.best
    start_enc = tiny.encode.best if tiny.encode else None
    print("\nlibwbxml command-line tools: best wall time of a subprocess per conversion, which")
    print("includes process start-up. The 'adj' columns subtract the best time of the same tool on")
    print(
        f"a {len(TINY_WBXML)}-byte document (wbxml2xml {start_dec * 1e3:.2f} ms"
        + (f", xml2wbxml {start_enc * 1e3:.2f} ms" if start_enc is not None else "")
        + "),"
    )
    print("n/a where start-up is over half the time. ours/lib = our throughput / libwbxml's.")
    print("decode: `wbxml2xml -l ACTIVESYNC -o OUT IN` (WBXML -> indented XML text)")
    print("encode: `xml2wbxml -a -n -v 1.3 -o OUT IN` on wbxml2xml's XML (text -> WBXML)")
    rows: list[list[str]] = []
    for doc in docs:
        lib = results[doc.name]
        size = len(doc.data)
        for direction, timing, startup, ours in (
            ("decode", lib.decode, start_dec, doc.decode_mbs),
            ("encode", lib.encode, start_enc, doc.encode_mbs),
        ):
            if timing is None:
                rows.append([doc.name, direction, "-", "-", "-", "-", "-"])
                continue
            raw = mbs(size, timing.best)
            # Below twice the start-up time the difference is mostly noise: no adjusted figure.
            net = timing.best - startup if startup is not None else 0.0
            adj = mbs(size, net) if startup is not None and net >= startup else None
            rows.append(
                [
                    doc.name,
                    direction,
                    f"{timing.best * 1e3:.2f}",
                    f"{raw:.2f}",
                    "n/a" if adj is None else f"{adj:.2f}",
                    ratio(ours, raw),
                    ratio(ours, adj),
                ]
            )
    print_table(
        ["document", "dir", "lib ms", "lib MB/s", "lib adj MB/s", "ours/lib", "ours/lib adj"], rows
    )
    for doc in docs:
        if results[doc.name].note:
            print(f"note ({doc.name}): {results[doc.name].note}")
    if tiny.note:
        print(f"note (start-up probe): {tiny.note}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a target is missed or a round trip differs"
    )
    parser.add_argument(
        "--seconds", type=float, default=1.5, help="time budget per measurement (default 1.5)"
    )
    parser.add_argument("--no-libwbxml", action="store_true", help="skip the libwbxml comparison")
    parser.add_argument(
        "--save",
        type=Path,
        metavar="DIR",
        help="keep the generated .wbxml files (and libwbxml's output) in DIR",
    )
    args = parser.parse_args(argv)
    if args.save:
        args.save.mkdir(parents=True, exist_ok=True)

    docs = [
        bench_document(f"Sync {EVENTS} events", build_sync_response(), args.seconds),
        bench_document(f"FolderSync {FOLDERS}", build_foldersync_response(), args.seconds),
    ]
    if args.save:
        for doc in docs:
            (args.save / (doc.name.replace(" ", "-") + ".ours.wbxml")).write_bytes(doc.data)

    print(
        f"protocol.wbxml, Python {sys.version.split()[0]}, lxml {etree.__version__}; "
        "best of N runs, MB = 10^6 bytes of WBXML\n"
    )
    print_table(
        [
            "document",
            "KiB",
            "elements",
            "dec MB/s",
            "dec elem/s",
            "enc MB/s",
            "enc elem/s",
            "runs d/e",
        ],
        [
            [
                d.name,
                f"{len(d.data) / 1024:.1f}",
                str(d.elements),
                f"{d.decode_mbs:.2f}",
                f"{d.elements / d.decode.best:,.0f}",
                f"{d.encode_mbs:.2f}",
                f"{d.elements / d.encode.best:,.0f}",
                f"{d.decode.runs}/{d.encode.runs}",
            ]
            for d in docs
        ],
    )

    if not args.no_libwbxml:
        print_libwbxml(docs, args.seconds, args.save)

    sync = docs[0]
    checks = [
        (
            f"decode >= {TARGET_DECODE_MBS:g} MB/s on {sync.name}",
            sync.decode_mbs >= TARGET_DECODE_MBS,
            f"{sync.decode_mbs:.2f} MB/s",
        ),
        (
            f"encode >= {TARGET_ENCODE_MBS:g} MB/s on {sync.name}",
            sync.encode_mbs >= TARGET_ENCODE_MBS,
            f"{sync.encode_mbs:.2f} MB/s",
        ),
    ] + [(f"encode(decode(b)) == b for {d.name}", d.round_trip, "") for d in docs]
    print()
    for label, ok, value in checks:
        print(f"{'PASS' if ok else 'FAIL'}  {label}" + (f"  ({value})" if value else ""))
    failed = not all(ok for _, ok, _ in checks)
    if failed and not args.check:
        print("(exit status 0: pass --check to fail on a missed target)")
    return 1 if failed and args.check else 0


if __name__ == "__main__":
    sys.exit(main())
