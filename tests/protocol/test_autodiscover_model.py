"""protocol.autodiscover: the mobilesync request/response model, XXE-safe parsing."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from protocol.autodiscover import (
    AUTODISCOVER_RESPONSE_NS,
    MAX_REQUEST_BYTES,
    MOBILESYNC_REQUEST_NS,
    MOBILESYNC_RESPONSE_NS,
    OUTLOOK_RESPONSE_SCHEMA,
    AutodiscoverError,
    AutodiscoverRequest,
    AutodiscoverRequestError,
    ErrorCode,
    MobileSyncResponse,
    Server,
    decode_xml,
    encode_xml,
    parse_request,
    parse_response,
    render_error,
    render_request,
    render_response,
)

MOBILESYNC_REQUEST = f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="{MOBILESYNC_REQUEST_NS}">
  <Request>
    <EMailAddress>chris@woodgrovebank.com</EMailAddress>
    <AcceptableResponseSchema>{MOBILESYNC_RESPONSE_NS}</AcceptableResponseSchema>
  </Request>
</Autodiscover>
""".encode()

OUTLOOK_REQUEST = f"""<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request>
    <EMailAddress>chris@woodgrovebank.com</EMailAddress>
    <AcceptableResponseSchema>{OUTLOOK_RESPONSE_SCHEMA}</AcceptableResponseSchema>
  </Request>
</Autodiscover>
""".encode()


def _parse(data: bytes) -> AutodiscoverRequest:
    return parse_request(decode_xml(data))


def test_mobilesync_request_parses() -> None:
    request = _parse(MOBILESYNC_REQUEST)
    assert request.email_address == "chris@woodgrovebank.com"
    assert request.wants_mobilesync


def test_outlook_request_parses_but_is_not_mobilesync() -> None:
    request = _parse(OUTLOOK_REQUEST)
    assert request.acceptable_response_schema == OUTLOOK_RESPONSE_SCHEMA
    assert not request.wants_mobilesync


def test_schema_compare_ignores_case_and_whitespace() -> None:
    request = AutodiscoverRequest(
        email_address="a@b", acceptable_response_schema=f"  {MOBILESYNC_RESPONSE_NS.upper()}\n"
    )
    assert request.wants_mobilesync


def test_request_without_namespace_is_accepted() -> None:
    data = (
        b"<Autodiscover><Request><EMailAddress>a@b.c</EMailAddress>"
        + f"<AcceptableResponseSchema>{MOBILESYNC_RESPONSE_NS}</AcceptableResponseSchema>".encode()
        + b"</Request></Autodiscover>"
    )
    assert _parse(data).email_address == "a@b.c"


def test_request_round_trips() -> None:
    request = AutodiscoverRequest(
        email_address="alice@example.com", acceptable_response_schema=MOBILESYNC_RESPONSE_NS
    )
    tree = render_request(request)
    assert tree.tag == f"{{{MOBILESYNC_REQUEST_NS}}}Autodiscover"
    assert _parse(encode_xml(tree)) == request


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not xml at all",
        b"<Autodiscover><Request>",
        b"<Other/>",
        b"<Autodiscover/>",
        b"<Autodiscover><Request><EMailAddress>a@b</EMailAddress></Request></Autodiscover>",
        (
            b"<Autodiscover><Request><AcceptableResponseSchema>x</AcceptableResponseSchema>"
            b"</Request></Autodiscover>"
        ),
        (
            b"<Autodiscover><Request><EMailAddress> </EMailAddress>"
            b"<AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>"
        ),
        b"\xff\xfe<\x00",
    ],
)
def test_malformed_requests_are_error_600(data: bytes) -> None:
    with pytest.raises(AutodiscoverRequestError) as caught:
        _parse(data)
    assert caught.value.error_code is ErrorCode.InvalidRequest


def test_oversized_request_is_error_600() -> None:
    data = MOBILESYNC_REQUEST.replace(b"<Request>", b"<Request>" + b" " * MAX_REQUEST_BYTES)
    with pytest.raises(AutodiscoverRequestError) as caught:
        _parse(data)
    assert caught.value.error_code is ErrorCode.InvalidRequest


def test_external_entity_is_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = f"""<?xml version="1.0"?>
<!DOCTYPE Autodiscover [<!ENTITY xxe SYSTEM "file://{secret}">]>
<Autodiscover xmlns="{MOBILESYNC_REQUEST_NS}"><Request>
<EMailAddress>&xxe;</EMailAddress>
<AcceptableResponseSchema>{MOBILESYNC_RESPONSE_NS}</AcceptableResponseSchema>
</Request></Autodiscover>""".encode()
    with pytest.raises(AutodiscoverRequestError) as caught:
        _parse(data)
    assert caught.value.error_code is ErrorCode.InvalidRequest
    assert "TOP-SECRET" not in str(caught.value)


def test_entity_expansion_bomb_is_refused() -> None:
    entities = "".join(f'<!ENTITY e{i} "{("&e" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e0 "boom">{entities}]>'
        f"<Autodiscover><Request><EMailAddress>&e9;</EMailAddress>"
        f"<AcceptableResponseSchema>x</AcceptableResponseSchema></Request></Autodiscover>"
    ).encode()
    with pytest.raises(AutodiscoverRequestError):
        _parse(data)


def test_response_shape_and_round_trip() -> None:
    url = "https://eas.example.com/Microsoft-Server-ActiveSync"
    response = MobileSyncResponse(
        display_name="Chris Gray",
        email_address="chris@woodgrovebank.com",
        servers=(Server(url=url, name=url),),
    )
    data = encode_xml(render_response(response))
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    root = etree.fromstring(data)
    assert root.tag == f"{{{AUTODISCOVER_RESPONSE_NS}}}Autodiscover"
    ns = {"r": MOBILESYNC_RESPONSE_NS}
    assert root.xpath("string(r:Response/r:Culture)", namespaces=ns) == "en:us"
    assert root.xpath("string(r:Response/r:User/r:DisplayName)", namespaces=ns) == "Chris Gray"
    server = "r:Response/r:Action/r:Settings/r:Server"
    assert root.xpath(f"string({server}/r:Type)", namespaces=ns) == "MobileSync"
    assert root.xpath(f"string({server}/r:Url)", namespaces=ns) == url
    assert root.xpath(f"string({server}/r:Name)", namespaces=ns) == url
    assert parse_response(etree.fromstring(data)) == response


@pytest.mark.parametrize("code", list(ErrorCode))
def test_error_shape_and_round_trip(code: ErrorCode) -> None:
    error = AutodiscoverError(error_code=code, message="Invalid Request", time="16:56:32.6164027")
    root = etree.fromstring(encode_xml(render_error(error)))
    ns = {"a": AUTODISCOVER_RESPONSE_NS}
    assert root.xpath("string(a:Response/a:Error/a:ErrorCode)", namespaces=ns) == str(int(code))
    assert root.xpath("string(a:Response/a:Error/@Time)", namespaces=ns) == "16:56:32.6164027"
    assert root.xpath("count(a:Response/a:Error/a:DebugData)", namespaces=ns) == 1
    assert parse_response(root) == error
