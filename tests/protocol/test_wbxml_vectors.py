"""Every public EAS vector in ../shared/vectors decodes; canonical ones round-trip."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from protocol.wbxml import HEADER, decode, decode_fragment, encode
from tests.conftest import VECTORS

needs_vectors = pytest.mark.skipif(
    not VECTORS.is_dir(), reason=f"{VECTORS} is absent (../shared is not beside the repository)"
)


def _files(folder: str) -> list[Path]:
    return sorted((VECTORS / folder).glob("*.wbxml")) if VECTORS.is_dir() else []


def _names(root: etree._Element) -> set[str]:
    return {etree.QName(element).localname for element in root.iter()}


@needs_vectors
@pytest.mark.parametrize("path", _files("bluemind"), ids=lambda path: path.name)
def test_bluemind_documents_decode_and_round_trip(path: Path) -> None:
    data = path.read_bytes()
    root = decode(data)
    assert len(list(root.iter())) > 1
    assert encode(root) == data


@needs_vectors
def test_exchange_empty_content_tags_round_trip() -> None:
    data = (VECTORS / "bluemind" / "tom_prov_resp.wbxml").read_bytes()
    assert b"\x57\x01" in data
    root = decode(data)
    marked = [e for e in root.iter() if e.get("{urn:easgw:wbxml}content") == "1"]
    assert marked
    assert encode(root) == data


def _horde_document(path: Path) -> tuple[etree._Element, bytes]:
    """PROVENANCE.md: fragments start with 5d (ApplicationData), a complete element,
    or are bare sibling sequences to wrap in ApplicationData."""
    data = path.read_bytes()
    if path.name in {"allday_appointment.wbxml", "meeting_request_one.wbxml"}:
        return decode_fragment(data), HEADER + b"\x5d" + data + b"\x01"
    return decode(HEADER + data), HEADER + data


@needs_vectors
@pytest.mark.parametrize("path", _files("horde"), ids=lambda path: path.name)
def test_horde_fragments_decode_and_round_trip(path: Path) -> None:
    root, data = _horde_document(path)
    assert encode(root) == data


@needs_vectors
def test_horde_appointment_has_calendar_fields() -> None:
    root, _ = _horde_document(VECTORS / "horde" / "appointment.wbxml")
    names = _names(root)
    assert {"Timezone", "StartTime", "EndTime", "Subject"} <= names


@needs_vectors
def test_iphone_provision_request() -> None:
    root = decode((VECTORS / "bluemind" / "iphoneProvReq1.wbxml").read_bytes())
    assert root.tag == "{Provision:}Provision"
    assert "PolicyType" in _names(root)
