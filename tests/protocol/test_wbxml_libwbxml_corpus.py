"""Our WBXML codec against libwbxml on whole documents: the shared corpus both ways, and
libwbxml's own test vectors decoded by us.

Where test_wbxml_libwbxml.py checks the code-page tables token by token, this module
checks documents: what we encode libwbxml must read to the same tree, what libwbxml
encodes we must read, and documents outside the oracle's table are skipped with the
reason. The oracle, the tree normalisers and the skip marker come from there."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Final

import pytest
from lxml import etree

from protocol import wbxml
from protocol.codepages import PAGES
from tests.protocol.test_wbxml_libwbxml import (
    _PARSER,
    CORPUS,
    DOCTYPE,
    PROVENANCE,
    VECTORS,
    WBXML2XML,
    WBXML2XML_ARGS,
    XML2WBXML,
    XML2WBXML_ARGS,
    XML2WBXML_VECTOR_ARGS,
    Key,
    Oracle,
    W,
    _diff,
    _elements,
    _keys,
    _our_key,
    _parse,
    _run_batch,
    libwbxml_tree,
    oracle,
    our_tree,
    pytestmark,
    to_libwbxml,
)

# The oracle fixture is found by name and pytestmark (skip without libwbxml) by pytest:
# listing them keeps the imports.
__all__ = ["oracle", "pytestmark"]


# --------------------------------------------------------------------------- the corpus


@dataclass(frozen=True, slots=True)
class Case:
    """One corpus document and what both tools made of it."""

    name: str
    root: etree._Element
    ours: bytes
    skip: str | None = None
    libwbxml_xml: bytes | None = None  # wbxml2xml of ours
    libwbxml_wbxml: bytes | None = None  # xml2wbxml of our tree in libwbxml's form
    exact: bool = False  # no marker and no string in a libwbxml binary tag: bytes must match


CORPUS_FILES: Final = sorted(CORPUS.glob("*.xml"))


def _why_not_comparable(root: etree._Element, oracle: Oracle) -> str | None:
    unknown = sorted(_keys(root) - set(oracle.names))
    if unknown:
        names = ", ".join(f"{PAGES[p].name}:{PAGES[p].tags[t]}" for p, t in unknown)
        return f"uses tags libwbxml 0.11.8 does not know: {names}"
    for element in root.iter():
        if element.get(W + "opaque") == "1" and _our_key(element) not in oracle.binary:
            return "OPAQUE outside libwbxml's base64 tags: libwbxml writes such bytes raw"
    return None


def _exact(root: etree._Element, oracle: Oracle) -> bool:
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.get(W + "content") == "1" or element.get(W + "empty") == "1":
            return False
        if (
            element.text
            and not _elements(element)
            and element.get(W + "opaque") != "1"
            and _our_key(element) in oracle.binary
        ):
            return False
    return True


@pytest.fixture(scope="module")
def cases(oracle: Oracle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Case]:
    """Every corpus document through both tools, in two batches."""
    folder = tmp_path_factory.mktemp("libwbxml-corpus")
    prepared: dict[str, Case] = {}
    decode_jobs: list[tuple[Path, Path]] = []
    encode_jobs: list[tuple[Path, Path]] = []
    for path in CORPUS_FILES:
        root = _parse(path)
        ours = wbxml.encode(root)
        skip = _why_not_comparable(root, oracle)
        prepared[path.stem] = Case(path.stem, root, ours, skip, exact=_exact(root, oracle))
        if skip is not None:
            continue
        ours_path = folder / f"{path.stem}.ours.wbxml"
        ours_path.write_bytes(ours)
        decode_jobs.append((ours_path, folder / f"{path.stem}.libwbxml.xml"))
        source = folder / f"{path.stem}.libwbxml-in.xml"
        source.write_bytes(
            etree.tostring(
                to_libwbxml(root, oracle), xml_declaration=True, encoding="UTF-8", doctype=DOCTYPE
            )
        )
        encode_jobs.append((source, folder / f"{path.stem}.libwbxml.wbxml"))
    rejected = _run_batch(WBXML2XML, WBXML2XML_ARGS, decode_jobs)
    rejected |= _run_batch(XML2WBXML, XML2WBXML_ARGS, encode_jobs)
    done: dict[str, Case] = {}
    for name, case in prepared.items():
        xml_out = folder / f"{name}.libwbxml.xml"
        wbxml_out = folder / f"{name}.libwbxml.wbxml"
        done[name] = Case(
            name,
            case.root,
            case.ours,
            case.skip,
            None if str(folder / f"{name}.ours.wbxml") in rejected else _read(xml_out),
            None if str(folder / f"{name}.libwbxml-in.xml") in rejected else _read(wbxml_out),
            case.exact,
        )
    return done


def _read(path: Path) -> bytes | None:
    return path.read_bytes() if path.exists() else None


def _case(cases: dict[str, Case], path: Path) -> Case:
    case = cases[path.stem]
    if case.skip is not None:
        pytest.skip(case.skip)
    return case


def test_corpus_is_present() -> None:
    assert len(CORPUS_FILES) >= 30
    for path in CORPUS_FILES:
        assert path.read_text(encoding="utf-8").startswith("<!--"), f"{path.name}: no citation"


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_libwbxml_reads_what_we_encode(cases: dict[str, Case], oracle: Oracle, path: Path) -> None:
    case = _case(cases, path)
    assert case.libwbxml_xml is not None, f"wbxml2xml rejected our encoding: {case.ours.hex()}"
    assert b"<unknown" not in case.libwbxml_xml, case.libwbxml_xml.decode("utf-8", "replace")
    theirs = libwbxml_tree(etree.fromstring(case.libwbxml_xml, _PARSER), oracle)
    expected = our_tree(case.root, oracle.binary)
    assert theirs == expected, _diff(expected, theirs)


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda path: path.stem)
def test_we_read_what_libwbxml_encodes(cases: dict[str, Case], oracle: Oracle, path: Path) -> None:
    case = _case(cases, path)
    assert case.libwbxml_wbxml is not None, "xml2wbxml rejected the document"
    decoded = our_tree(wbxml.decode(case.libwbxml_wbxml), oracle.binary)
    expected = our_tree(case.root, oracle.binary)
    assert decoded == expected, _diff(expected, decoded)
    if case.exact:
        # No marker, no inline string in a libwbxml binary tag: nothing legitimate differs.
        assert case.libwbxml_wbxml == case.ours, (
            f"libwbxml: {case.libwbxml_wbxml.hex(' ')}\nours:     {case.ours.hex(' ')}"
        )


def test_some_corpus_documents_compare_byte_for_byte(cases: dict[str, Case]) -> None:
    exact = [case.name for case in cases.values() if case.skip is None and case.exact]
    assert len(exact) >= len(cases) // 2, exact


def test_corpus_coverage(oracle: Oracle) -> None:
    used: set[Key] = set()
    for path in CORPUS_FILES:
        used |= _keys(_parse(path))
    known = set(oracle.names)
    share = len(used & known) / len(known)
    print(
        f"\ncorpus uses {len(used & known)} of the {len(known)} tags libwbxml knows ({share:.0%})"
    )
    for page in PAGES:
        tags = {(page.number, token) for token in page.tags}
        missing = sorted(page.tags[token] for _, token in tags - used)
        count = f"{len(tags & used):3}/{len(tags):<3}"
        print(f"  {page.number:2} {page.name:<18} {count} {' '.join(missing)}")
    assert share >= 0.60


# --------------------------------------------------------------------------- libwbxml's own tests


def _vectors() -> list[object]:
    listed = PROVENANCE.is_file() and "libwbxml/" in PROVENANCE.read_text(encoding="utf-8")
    if not listed or not VECTORS.is_dir():
        reason = f"{VECTORS} (listed in ../shared/vectors/PROVENANCE.md) is absent"
        return [pytest.param(None, id="absent", marks=pytest.mark.skip(reason=reason))]
    return [pytest.param(path, id=path.stem) for path in sorted(VECTORS.glob("*.xml"))]


@pytest.fixture(scope="module")
def vector_encodings(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes | None]:
    """xml2wbxml of every libwbxml vector, in one batch."""
    if not VECTORS.is_dir():
        return {}
    folder = tmp_path_factory.mktemp("libwbxml-vectors")
    paths = sorted(VECTORS.glob("*.xml"))
    jobs = [(path, folder / f"{path.stem}.wbxml") for path in paths]
    rejected = _run_batch(XML2WBXML, XML2WBXML_VECTOR_ARGS, jobs)
    return {path.stem: None if str(path) in rejected else _read(out) for path, out in jobs}


@pytest.mark.parametrize("path", _vectors())
def test_we_decode_libwbxml_test_vectors(
    vector_encodings: dict[str, bytes | None], oracle: Oracle, path: Path
) -> None:
    encoded = vector_encodings[path.stem]
    assert encoded is not None, "xml2wbxml rejected its own test document"
    expected = libwbxml_tree(_parse(path), oracle, strip=True)
    decoded = our_tree(wbxml.decode(encoded), oracle.binary)
    assert decoded == expected, _diff(expected, decoded)
