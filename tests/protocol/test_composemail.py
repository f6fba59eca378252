"""protocol.composemail: SendMail, SmartReply, SmartForward requests (both forms) and answers."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from protocol import wbxml
from protocol.ashttp import Command
from protocol.composemail import (
    ComposeMailRequest,
    ComposeMailResponse,
    Forwardee,
    Source,
    parse_compose_mail,
    render_compose_mail_request,
    render_compose_mail_response,
    with_query,
)
from protocol.status import EasStatusError
from tests.conftest import VECTORS
from tests.protocol.wbxml_trees import trees, xml_text

MIME = b"From: alice@example.com\r\nTo: bob@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
NS = 'xmlns="ComposeMail:"'
W = 'xmlns:w="urn:easgw:wbxml"'


def _wire(tree: etree._Element) -> etree._Element:
    return wbxml.decode(wbxml.encode(tree))


def _parse(
    xml: str, command: Command = Command.SendMail, version: str = "14.1"
) -> ComposeMailRequest:
    return parse_compose_mail(command, _wire(etree.fromstring(xml)), version)


def _mime_element(data: bytes = MIME) -> str:
    return f'<Mime {W} w:opaque="1">{base64.b64encode(data).decode()}</Mime>'


# --- the 14.0+ form -----------------------------------------------------------------------


def test_send_mail_with_opaque_mime() -> None:
    request = _parse(
        f"<SendMail {NS}><ClientId>42</ClientId><SaveInSentItems/>{_mime_element()}</SendMail>"
    )
    assert request == ComposeMailRequest(
        command=Command.SendMail, mime=MIME, client_id="42", save_in_sent=True
    )


def test_send_mail_with_string_mime() -> None:
    request = _parse(
        f"<SendMail {NS}><ClientId>7</ClientId><Mime>Subject: x\n\nbody</Mime></SendMail>"
    )
    assert request.mime == b"Subject: x\n\nbody"
    assert request.save_in_sent is False


def test_smart_forward_with_everything_at_16_1() -> None:
    xml = (
        f'<SmartForward {NS} xmlns:rm="RightsManagement:"><ClientId>f-1</ClientId>'
        "<Source><FolderId>2</FolderId><ItemId>2:9</ItemId>"
        "<InstanceId>2026-12-01T10:00:00.000Z</InstanceId></Source>"
        "<AccountId>acc</AccountId><SaveInSentItems/><ReplaceMime/>"
        f"{_mime_element()}<rm:TemplateID>t</rm:TemplateID>"
        "<Forwardees><Forwardee><ForwardeeName>Eve</ForwardeeName>"
        "<ForwardeeEmail>eve@example.com</ForwardeeEmail></Forwardee></Forwardees>"
        "</SmartForward>"
    )
    request = _parse(xml, Command.SmartForward, "16.1")
    assert request.source == Source(
        folder_id="2", item_id="2:9", instance_id=datetime(2026, 12, 1, 10, tzinfo=UTC)
    )
    assert request.replace_mime and request.save_in_sent
    assert request.account_id == "acc"
    assert request.forwardees == (Forwardee(email="eve@example.com", name="Eve"),)


def test_smart_reply_by_long_id() -> None:
    xml = (
        f"<SmartReply {NS}><ClientId>r</ClientId><Source><LongId>RgAAAA</LongId></Source>"
        f"{_mime_element()}</SmartReply>"
    )
    assert _parse(xml, Command.SmartReply).source == Source(long_id="RgAAAA")


@pytest.mark.parametrize(
    ("xml", "command", "version", "status"),
    [
        # ClientId and Mime are required (MS-ASCMD 2.2.3.28.1, 6.39)
        (f"<SendMail {NS}><Mime>x</Mime></SendMail>", Command.SendMail, "14.1", 103),
        (f"<SendMail {NS}><ClientId>1</ClientId></SendMail>", Command.SendMail, "14.1", 103),
        # ClientId is 1..40 characters
        (f"<SendMail {NS}><ClientId>{'x' * 41}</ClientId><Mime>x</Mime></SendMail>",
         Command.SendMail, "14.1", 103),
        # the root must be the command's
        (f"<SmartReply {NS}><ClientId>1</ClientId><Mime>x</Mime></SmartReply>",
         Command.SendMail, "14.1", 103),
        # Source is required for SmartReply/SmartForward (2.2.3.173)
        (f"<SmartReply {NS}><ClientId>1</ClientId><Mime>x</Mime></SmartReply>",
         Command.SmartReply, "14.1", 103),
        # LongId excludes FolderId/ItemId (2.2.3.173)
        ((f"<SmartReply {NS}><ClientId>1</ClientId><Source><LongId>L</LongId>"
          "<ItemId>1:1</ItemId></Source><Mime>x</Mime></SmartReply>"),
         Command.SmartReply, "14.1", 105),
        # InstanceId is a date-time
        ((f"<SmartReply {NS}><ClientId>1</ClientId><Source><InstanceId>soon</InstanceId>"
          "</Source><Mime>x</Mime></SmartReply>"), Command.SmartReply, "14.1", 104),
        # Forwardees are 16.0+, AccountId 14.1+, ReplaceMime not in SendMail
        ((f"<SmartForward {NS}><ClientId>1</ClientId><Source/><Mime>x</Mime><Forwardees>"
          "<Forwardee><ForwardeeEmail>e@x</ForwardeeEmail></Forwardee></Forwardees>"
          "</SmartForward>"), Command.SmartForward, "14.1", 103),
        (f"<SendMail {NS}><ClientId>1</ClientId><AccountId>a</AccountId><Mime>x</Mime></SendMail>",
         Command.SendMail, "14.0", 103),
        (f"<SendMail {NS}><ClientId>1</ClientId><ReplaceMime/><Mime>x</Mime></SendMail>",
         Command.SendMail, "14.1", 103),
        # repeated element
        (f"<SendMail {NS}><ClientId>1</ClientId><ClientId>2</ClientId><Mime>x</Mime></SendMail>",
         Command.SendMail, "14.1", 103),
        # an empty message
        (f"<SendMail {NS}><ClientId>1</ClientId><Mime> </Mime></SendMail>",
         Command.SendMail, "14.1", 107),
    ],
)  # fmt: skip
def test_malformed_requests_get_the_status(
    xml: str, command: Command, version: str, status: int
) -> None:
    with pytest.raises(EasStatusError) as caught:
        _parse(xml, command, version)
    assert caught.value.status == status


@pytest.mark.parametrize("command", [Command.SendMail, Command.SmartReply, Command.SmartForward])
def test_render_then_parse_is_identity(command: Command) -> None:
    source = Source(long_id="L1") if command is not Command.SendMail else None
    forwardees = (Forwardee(email="f@example.com"),) if command is Command.SmartForward else ()
    request = ComposeMailRequest(
        command=command,
        mime=MIME + bytes(range(256)),
        client_id="id",
        save_in_sent=True,
        replace_mime=command is not Command.SendMail,
        source=source,
        forwardees=forwardees,
    )
    assert parse_compose_mail(command, _wire(render_compose_mail_request(request)), "16.1") == (
        request
    )


@pytest.mark.parametrize("name", ["030", "031"])
def test_libwbxml_sendmail_vectors(name: str) -> None:
    """libwbxml's SendMail documents (its MIME tag is MS-ASWBXML's Mime, 0x10)."""
    path = VECTORS / "libwbxml" / f"activesync-{name}-sendmail-request.xml"
    if not path.exists():
        pytest.skip("../shared/vectors is absent")
    root = etree.fromstring(path.read_bytes())
    mime = root.find("{ComposeMail:}MIME")
    assert mime is not None
    mime.tag = "{ComposeMail:}Mime"
    mime.set("{urn:easgw:wbxml}opaque", "1")
    request = parse_compose_mail(Command.SendMail, _wire(root), "14.0")
    assert (request.client_id, request.save_in_sent) == ("1", True)
    assert request.mime.startswith(b"From: ")
    assert b"MIME-Version: 1.0" in request.mime


# --- the 12.x form ------------------------------------------------------------------------


def test_raw_mime_body_and_query() -> None:
    request = parse_compose_mail(Command.SmartReply, MIME, "12.1")
    assert request.from_query and request.mime == MIME and request.source is None
    completed = with_query(request, {"ItemId": "1:5", "CollectionId": "1"}, save_in_sent=True)
    assert completed.source == Source(folder_id="1", item_id="1:5")
    assert completed.save_in_sent is True
    send = with_query(parse_compose_mail(Command.SendMail, MIME, "12.1"), {}, save_in_sent=False)
    assert send.source is None and not send.save_in_sent


def test_query_long_id_with_item_id_is_refused() -> None:
    request = parse_compose_mail(Command.SmartForward, MIME, "12.1")
    with pytest.raises(EasStatusError) as caught:
        with_query(request, {"LongId": "L", "ItemId": "1:1"}, save_in_sent=False)
    assert caught.value.status == 105


@pytest.mark.parametrize("body", [None, b""])
def test_empty_raw_body_is_invalid_mime(body: bytes | None) -> None:
    with pytest.raises(EasStatusError) as caught:
        parse_compose_mail(Command.SendMail, body, "12.1")
    assert caught.value.status == 107


def test_with_query_leaves_the_wbxml_form_alone() -> None:
    request = _parse(f"<SendMail {NS}><ClientId>1</ClientId><Mime>x</Mime></SendMail>")
    assert with_query(request, {"ItemId": "1:1"}, save_in_sent=True) is request


# --- the answer ---------------------------------------------------------------------------


@pytest.mark.parametrize("command", [Command.SendMail, Command.SmartReply, Command.SmartForward])
def test_answers(command: Command) -> None:
    assert render_compose_mail_response(ComposeMailResponse(command=command), "14.1") is None
    failed = render_compose_mail_response(ComposeMailResponse(command=command, status=120), "16.1")
    assert failed is not None
    decoded = _wire(failed)
    assert decoded.tag == f"{{ComposeMail:}}{command.name}"
    assert decoded.findtext("{ComposeMail:}Status") == "120"


# --- untrusted input ----------------------------------------------------------------------

_tags = st.sampled_from(
    ["ClientId", "Mime", "Source", "FolderId", "ItemId", "LongId", "InstanceId", "SaveInSentItems",
     "ReplaceMime", "AccountId", "Forwardees", "Forwardee", "ForwardeeEmail", "Status"]
)  # fmt: skip


@st.composite
def _compose_trees(draw: st.DrawFn) -> etree._Element:
    command = draw(st.sampled_from(["SendMail", "SmartReply", "SmartForward"]))
    root = etree.Element(f"{{ComposeMail:}}{command}")
    parents = [root]
    for _ in range(draw(st.integers(0, 8))):
        parent = draw(st.sampled_from(parents))
        child = etree.SubElement(parent, "{ComposeMail:}" + draw(_tags))
        child.text = draw(st.none() | xml_text | st.sampled_from(["1", "2026-12-01T10:00:00.000Z"]))
        if child.text is None:
            parents.append(child)
    return root


@pytest.mark.parametrize("version", ["14.0", "14.1", "16.1"])
@pytest.mark.parametrize("command", [Command.SendMail, Command.SmartReply, Command.SmartForward])
@given(tree=st.one_of(_compose_trees(), trees))
def test_untrusted_trees_parse_or_get_a_status(
    version: str, command: Command, tree: etree._Element
) -> None:
    try:
        request = parse_compose_mail(command, _wire(tree), version)
    except EasStatusError as exc:
        assert exc.status in {103, 104, 105, 107}
    else:
        assert request.command is command
        assert request.mime.strip()
        assert request.client_id is not None and 0 < len(request.client_id) <= 40


@given(body=st.binary(max_size=200))
def test_any_raw_body_is_taken_as_mime_or_refused(body: bytes) -> None:
    try:
        request = parse_compose_mail(Command.SendMail, body, "12.1")
    except EasStatusError as exc:
        assert exc.status == 107 and not body
    else:
        assert request.mime == body
