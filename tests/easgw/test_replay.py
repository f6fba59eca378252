"""``easgw replay``: the runner against small scenarios, one passing and one failing,
captures, the base64 query rebuild, the comparison rules and the exit statuses."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from easgw.cli import main
from easgw.replay import ScenarioError, compare_trees, load_scenario, replay, run_scenario
from easgw.replay.compare import match_text, substitute
from easgw.replay.run import build_request
from easgw.replay.scenario import Step
from protocol import wbxml
from protocol.ashttp import Command, encode_base64_query, parse_request_line

UA = "Apple-iPhone15C3/2104.112"
WBXML = "application/vnd.ms-sync.wbxml"
USERS = 'users = [{ name = "alice", password = "pw-alice-7", email = "alice@example.com" }]'

PROVISION = """<Provision xmlns="Provision:"><Policies><Policy>
<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType></Policy></Policies></Provision>"""
PROVISION_ANSWER = """<Provision xmlns="Provision:"><Status>1</Status><Policies><Policy>
<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><Status>1</Status>
<PolicyKey>{{capture:Temporary}}</PolicyKey><Data><EASProvisionDoc/></Data>
</Policy></Policies></Provision>"""
ACK = """<Provision xmlns="Provision:"><Policies><Policy>
<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><PolicyKey>{{Temporary}}</PolicyKey>
<Status>1</Status></Policy></Policies></Provision>"""
ACK_ANSWER = """<Provision xmlns="Provision:"><Status>1</Status><Policies><Policy>
<PolicyType>MS-EAS-Provisioning-WBXML</PolicyType><Status>1</Status>
<PolicyKey>{{capture:Final}}</PolicyKey></Policy></Policies></Provision>"""
FOLDERSYNC = '<FolderSync xmlns="FolderHierarchy:"><SyncKey>0</SyncKey></FolderSync>'
FOLDERSYNC_ANSWER = """<FolderSync xmlns="FolderHierarchy:"><Status>1</Status>
<SyncKey>{{capture:Key}}</SyncKey><Changes><Count>6</Count></Changes></FolderSync>"""


def write_scenario(folder: Path, steps: list[dict[str, Any]], version: str = "16.1") -> Path:
    """A scenario folder; each step: name, request (dict), expect (dict), and optional
    request_xml / expect_xml (written as .wbxml, the authoritative form)."""
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text(
        f'description = "test"\nprovenance = "tests"\nversion = "{version}"\n[setup]\n{USERS}\n'
    )
    for step in steps:
        name = step["name"]
        for key, part in (("request_xml", "request"), ("expect_xml", "expect")):
            if key in step:
                data = wbxml.encode(etree.fromstring(step[key].encode()))
                (folder / f"{name}.{part}.wbxml").write_bytes(data)
                step[part]["body"] = f"{name}.{part}.wbxml"
        step["request"].setdefault("body", None)
        step["expect"].setdefault("body", None)
        (folder / f"{name}.request.json").write_text(json.dumps(step["request"]))
        (folder / f"{name}.expect.json").write_text(json.dumps(step["expect"]))
    return folder


def plain(command: str, policy_key: str | None = None) -> dict[str, Any]:
    headers = {"User-Agent": UA, "MS-ASProtocolVersion": "16.1", "Content-Type": WBXML}
    if policy_key is not None:
        headers["X-MS-PolicyKey"] = policy_key
    query = {"Cmd": command, "User": "alice", "DeviceId": "TESTDEV1", "DeviceType": "iPhone"}
    return {"method": "POST", "query": query, "headers": headers, "user": "alice"}


def first_contact() -> list[dict[str, Any]]:
    """OPTIONS, Provision x2 and FolderSync: captures in a body and a header."""
    return [
        {
            "name": "01-Options",
            "request": {"method": "OPTIONS", "headers": {"User-Agent": UA}, "user": "alice"},
            "expect": {
                "status": 200,
                "headers": {"MS-ASProtocolVersions": "12.0,12.1,14.0,14.1,16.0,16.1"},
            },
        },
        {
            "name": "02-Provision",
            "request": plain("Provision"),
            "request_xml": PROVISION,
            "expect": {"status": 200, "headers": {"Content-Type": WBXML}},
            "expect_xml": PROVISION_ANSWER,
        },
        {
            "name": "03-Provision",
            "request": plain("Provision", "{{Temporary}}"),
            "request_xml": ACK,
            "expect": {"status": 200},
            "expect_xml": ACK_ANSWER,
        },
        {
            "name": "04-FolderSync",
            "request": plain("FolderSync", "{{Final}}"),
            "request_xml": FOLDERSYNC,
            "expect": {"status": 200, "ignore": ["FolderHierarchy:FolderSync/Changes"]},
            "expect_xml": FOLDERSYNC_ANSWER,
        },
    ]


async def test_a_scenario_passes_with_captures_ignore_and_headers(tmp_path: Path) -> None:
    steps = first_contact()
    steps[1]["expect"]["ignore"] = ["//Provision:EASProvisionDoc"]
    folder = write_scenario(tmp_path / "good", steps)
    lines: list[str] = []
    passed = await run_scenario(load_scenario(folder), emit=lines.append)
    assert lines == [
        "PASS good/01-Options",
        "PASS good/02-Provision",
        "PASS good/03-Provision",
        "PASS good/04-FolderSync",
    ]
    assert passed


def test_the_command_line_prints_a_diff_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    steps = first_contact()[:2]  # EASProvisionDoc not ignored: the policy differs
    steps[0]["expect"]["status"] = 204
    write_scenario(tmp_path / "suite" / "bad", steps)
    assert main(["replay", str(tmp_path / "suite")]) == 1
    out = capsys.readouterr().out
    assert "FAIL bad/01-Options\n  status: expected 204, got 200" in out
    assert "FAIL bad/02-Provision\n  body differs:\n  --- expected\n  +++ actual" in out
    assert "  -        <Provision:EASProvisionDoc/>" in out
    assert (
        "  +          <Provision:DevicePasswordEnabled>0</Provision:DevicePasswordEnabled>" in out
    )


def test_the_command_line_exits_0_when_all_pass(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_scenario(tmp_path / "one", first_contact()[:1])
    assert main(["replay", str(tmp_path / "one")]) == 0
    assert capsys.readouterr().out == "PASS one/01-Options\n"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda f: (f / "scenario.toml").write_text("description = 1"), "description"),
        (lambda f: (f / "01-Options.expect.json").unlink(), "01-Options.expect.json"),
        (lambda f: (f / "01-Options.request.json").write_text('{"bdy": null}'), "'bdy'"),
        (lambda f: (f / "01-Options.request.json").write_text('{"body": "x"}'), "not a file"),
    ],
)
def test_a_malformed_scenario_exits_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: Any, message: str
) -> None:
    folder = write_scenario(tmp_path / "broken", first_contact()[:1])
    change(folder)
    assert main(["replay", str(folder)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("easgw replay: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_a_missing_folder_and_an_empty_folder_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(tmp_path / "nowhere")]) == 2
    assert "no such folder" in capsys.readouterr().err
    assert main(["replay", str(tmp_path)]) == 2
    assert "no scenario" in capsys.readouterr().err


def test_an_unreachable_url_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_scenario(tmp_path / "one", first_contact()[:1])
    assert main(["replay", str(tmp_path / "one"), "--url", "http://127.0.0.1:9"]) == 2
    assert "did not answer" in capsys.readouterr().err


async def test_a_recording_without_passwords_cannot_run_against_a_url(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "rec", first_contact()[:1])
    (folder / "scenario.toml").write_text(
        'description = "d"\nprovenance = "p"\nversion = "16.1"\n[setup]\n'
        'users = [{ name = "alice", email = "alice@example.com" }]\n'
    )
    with pytest.raises(ScenarioError, match="needs a password for alice"):
        await run_scenario(load_scenario(folder), emit=print, url="http://127.0.0.1:9")
    lines: list[str] = []  # in-process, a password is made up
    assert await run_scenario(load_scenario(folder), emit=lines.append)


async def test_a_seeded_scenario_sets_up(tmp_path: Path) -> None:
    folder = write_scenario(tmp_path / "seeded", first_contact()[:1])
    (folder / "seed").mkdir()
    (folder / "seed" / "event.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\n"
        "UID:seed-1@example.com\r\nDTSTAMP:20260101T000000Z\r\n"
        "DTSTART:20260102T100000Z\r\nDTEND:20260102T110000Z\r\nSUMMARY:Seeded\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    with (folder / "scenario.toml").open("a") as handle:
        handle.write('seed = ["event.ics"]\n')
    assert await replay([folder], emit=lambda _line: None) == 0


# --------------------------------------------------------------------------
# Pieces


def test_the_base64_query_is_rebuilt_with_the_captured_policy_key() -> None:
    for original in (None, 1234):
        query = encode_base64_query(
            command=Command.FolderSync,
            version="12.1",
            device_id="WM61DEVICE",
            device_type="PocketPC",
            user="alice",
            policy_key=original,
            parameters={"CollectionId": "7"},
        )
        step = Step(
            name="01-FolderSync",
            folder=Path(),
            request={"query_base64": query, "policy_key": "{{Key}}", "user": "alice"},
            expect={"status": 200},
        )
        method, target, headers, body = build_request(step, {"alice": "pw"}, {"Key": "3378841480"})
        assert (method, body) == ("POST", None)
        assert headers["Authorization"] == "Basic " + base64.b64encode(b"alice:pw").decode()
        rebuilt = parse_request_line(target.split("?", 1)[1], {})
        assert rebuilt.policy_key == 3378841480
        assert (rebuilt.device_id, rebuilt.user, rebuilt.command) == (
            "WM61DEVICE",
            "alice",
            Command.FolderSync,
        )
        assert rebuilt.parameters == {"CollectionId": "7"}


def test_templates_capture_and_substitute() -> None:
    captures: dict[str, str] = {}
    assert match_text("{{capture:Key}}", "1234", captures)
    assert captures == {"Key": "1234"}
    assert match_text("{{Key}}", "1234", captures)
    assert not match_text("{{Key}}", "999", captures)
    assert match_text("v{{capture:Major}}.{{capture:Minor}}", "v16.1", captures)
    assert (captures["Major"], captures["Minor"]) == ("16", "1")
    assert not match_text("{{Unbound}}", "x", captures)
    assert substitute("key={{Key}}", captures) == "key=1234"


def tree(text: str) -> etree._Element:
    return etree.fromstring(text.encode())


def test_clock_stamps_are_forgiven_and_other_times_are_not() -> None:
    expected = tree(
        '<ApplicationData xmlns="AirSync:" xmlns:C="Calendar:"><C:DtStamp>20260101T000000Z'
        "</C:DtStamp><C:StartTime>20260102T100000Z</C:StartTime></ApplicationData>"
    )
    later = tree(
        '<ApplicationData xmlns="AirSync:" xmlns:C="Calendar:"><C:DtStamp>20261125T120102Z'
        "</C:DtStamp><C:StartTime>20260102T100000Z</C:StartTime></ApplicationData>"
    )
    assert compare_trees(expected, later, {}, []) == []
    shifted = tree(
        '<ApplicationData xmlns="AirSync:" xmlns:C="Calendar:"><C:DtStamp>20261125T120102Z'
        "</C:DtStamp><C:StartTime>20260101T100000Z</C:StartTime></ApplicationData>"
    )
    diff = compare_trees(expected, shifted, {}, [])
    assert "-  <Calendar:StartTime>20260102T100000Z</Calendar:StartTime>" in diff
    assert not any("DtStamp" in line for line in diff if line[:1] in "+-" and line[:3] != "---")


def test_markers_order_and_ignore_paths() -> None:
    expected = tree(
        '<FolderSync xmlns="FolderHierarchy:"><Status>1</Status><SyncKey/></FolderSync>'
    )
    marked = tree(
        '<FolderSync xmlns="FolderHierarchy:" xmlns:w="urn:easgw:wbxml"><Status>1</Status>'
        '<SyncKey w:content="1"/></FolderSync>'
    )
    assert compare_trees(expected, marked, {}, []) != []  # a content bit is a difference
    assert compare_trees(expected, marked, {}, ["FolderSync/SyncKey"]) == []
    assert compare_trees(expected, marked, {}, ["//FolderHierarchy:SyncKey"]) == []
    assert compare_trees(expected, marked, {}, ["Status"]) != []  # paths start at the root
    swapped = tree('<FolderSync xmlns="FolderHierarchy:"><SyncKey/><Status>1</Status></FolderSync>')
    assert compare_trees(expected, swapped, {}, []) != []
