"""The decode/encode command line, run as a user would: a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from protocol.wbxml import HEADER, decode, encode
from tests.conftest import VECTORS

# A 16.1 calendar Sync Add, as an iPhone would send it (MS-ASCMD 2.2.1.21, MS-ASCAL 2.2.2):
# attendees, a TimeZone, an AirSyncBase Body and an AirSyncBase Location (16.x).
SYNC_ADD_XML = b"""<Sync xmlns="AirSync:" xmlns:Calendar="Calendar:"
      xmlns:AirSyncBase="AirSyncBase:">
  <Collections>
    <Collection>
      <SyncKey>1234567890</SyncKey>
      <CollectionId>1</CollectionId>
      <Commands>
        <Add>
          <ClientId>8A1F0C2E-5D43-4A3B-9E0A-7C8B2F6D1E9A</ClientId>
          <ApplicationData>
            <Calendar:Timezone>iP///1cALgAgAEUAdQByAG8AcABlACAAUwB0AGEAbgBkAGEAcgBkACAAVABpAG0AZQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACgAAAAUAAwAAAAAAAAAAAAAAVwAuACAARQB1AHIAbwBwAGUAIABEAGEAeQBsAGkAZwBoAHQAIABUAGkAbQBlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAADAAAABQACAAAAAAAAAMT///8=</Calendar:Timezone>
            <Calendar:AllDayEvent>0</Calendar:AllDayEvent>
            <AirSyncBase:Body>
              <AirSyncBase:Type>1</AirSyncBase:Type>
              <AirSyncBase:Data>Quarterly review &amp; planning</AirSyncBase:Data>
            </AirSyncBase:Body>
            <Calendar:BusyStatus>2</Calendar:BusyStatus>
            <Calendar:DtStamp>20261125T100000Z</Calendar:DtStamp>
            <Calendar:EndTime>20261201T110000Z</Calendar:EndTime>
            <AirSyncBase:Location>
              <AirSyncBase:DisplayName>Room 4</AirSyncBase:DisplayName>
            </AirSyncBase:Location>
            <Calendar:Reminder>15</Calendar:Reminder>
            <Calendar:Sensitivity>0</Calendar:Sensitivity>
            <Calendar:Subject>Quarterly review</Calendar:Subject>
            <Calendar:StartTime>20261201T100000Z</Calendar:StartTime>
            <Calendar:MeetingStatus>1</Calendar:MeetingStatus>
            <Calendar:Attendees>
              <Calendar:Attendee>
                <Calendar:Email>bob@example.com</Calendar:Email>
                <Calendar:Name>Bob</Calendar:Name>
                <Calendar:AttendeeType>1</Calendar:AttendeeType>
              </Calendar:Attendee>
              <Calendar:Attendee>
                <Calendar:Email>jitsi@conf.example.com</Calendar:Email>
                <Calendar:Name>Jitsi video conference</Calendar:Name>
                <Calendar:AttendeeType>3</Calendar:AttendeeType>
              </Calendar:Attendee>
            </Calendar:Attendees>
            <Calendar:ClientUid>8A1F0C2E-5D43-4A3B-9E0A-7C8B2F6D1E9A</Calendar:ClientUid>
          </ApplicationData>
        </Add>
      </Commands>
    </Collection>
  </Collections>
</Sync>
"""


def easgw(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "easgw", *args],
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def sync_add(tmp_path: Path) -> Path:
    path = tmp_path / "sync-add.wbxml"
    path.write_bytes(encode(etree.fromstring(SYNC_ADD_XML)))
    return path


def test_decode_prints_every_element_with_its_spec_name(sync_add: Path) -> None:
    result = easgw("decode", str(sync_add))
    assert result.returncode == 0, result.stderr
    text = result.stdout.decode()
    for name in [
        "AirSync:Sync", "AirSync:ClientId", "Calendar:Timezone", "AirSyncBase:Body",
        "AirSyncBase:Data", "AirSyncBase:Location", "AirSyncBase:DisplayName",
        "Calendar:Attendee", "Calendar:Email", "Calendar:AttendeeType", "Calendar:ClientUid",
        "Calendar:DtStamp", "Calendar:MeetingStatus",
    ]:  # fmt: skip
        assert f"<{name}>" in text or f"<{name} " in text, name
    assert "Quarterly review &amp; planning" in text
    assert result.stderr == b""


def test_encode_of_decode_gives_the_same_bytes(sync_add: Path, tmp_path: Path) -> None:
    xml = tmp_path / "sync-add.xml"
    xml.write_bytes(easgw("decode", str(sync_add)).stdout)
    result = easgw("encode", str(xml))
    assert result.returncode == 0, result.stderr
    assert result.stdout == sync_add.read_bytes()


def test_stdin_and_stdout(sync_add: Path) -> None:
    decoded = easgw("decode", "-", stdin=sync_add.read_bytes())
    assert decoded.returncode == 0
    encoded = easgw("encode", stdin=decoded.stdout)
    assert encoded.stdout == sync_add.read_bytes()


def test_bad_wbxml_exits_2_with_one_line_naming_the_offset(sync_add: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.wbxml"
    bad.write_bytes(sync_add.read_bytes()[:40])
    result = easgw("decode", str(bad))
    assert result.returncode == 2
    assert result.stdout == b""
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1
    assert "byte" in lines[0] and "Traceback" not in lines[0]
    assert str(bad) in lines[0]


def test_unknown_tag_names_line_and_column(tmp_path: Path) -> None:
    xml = tmp_path / "bad.xml"
    xml.write_bytes(b'<Sync xmlns="AirSync:">\n  <SyncKey>1</SyncKey><Bogus/>\n</Sync>\n')
    result = easgw("encode", str(xml))
    assert result.returncode == 2
    line = result.stderr.decode().strip()
    assert ":2:23:" in line and "Bogus" in line
    assert len(line.splitlines()) == 1


def test_malformed_xml_exits_2(tmp_path: Path) -> None:
    xml = tmp_path / "bad.xml"
    xml.write_bytes(b"<Sync xmlns='AirSync:'>\n<SyncKey>\n</Sync>")
    result = easgw("encode", str(xml))
    assert result.returncode == 2
    assert "not well-formed" in result.stderr.decode()
    assert len(result.stderr.decode().strip().splitlines()) == 1


def test_missing_file_exits_2(tmp_path: Path) -> None:
    result = easgw("decode", str(tmp_path / "nope.wbxml"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr.decode()


def test_version_and_help() -> None:
    assert easgw("--version").stdout.startswith(b"easgw ")
    helped = easgw("--help")
    assert helped.returncode == 0 and b"decode" in helped.stdout and b"encode" in helped.stdout


@pytest.mark.skipif(not VECTORS.is_dir(), reason=f"{VECTORS} is absent")
def test_fragment_round_trip(tmp_path: Path) -> None:
    source = VECTORS / "horde" / "allday_appointment.wbxml"
    decoded = easgw("decode", "--fragment", str(source))
    assert decoded.returncode == 0, decoded.stderr
    assert b"Calendar:AllDayEvent" in decoded.stdout
    encoded = easgw("encode", "--fragment", stdin=decoded.stdout)
    assert encoded.stdout == source.read_bytes()


def test_decoded_output_decodes_back(sync_add: Path) -> None:
    root = etree.fromstring(easgw("decode", str(sync_add)).stdout)
    assert encode(root) == sync_add.read_bytes()
    assert decode(sync_add.read_bytes()).tag == "{AirSync:}Sync"
    assert sync_add.read_bytes().startswith(HEADER)
