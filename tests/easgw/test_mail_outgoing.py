"""easgw.mail.outgoing: envelope and header rules, on well-formed and hostile MIME."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from easgw.mail.outbox import LONGEST_RETRY, backoff
from easgw.mail.outgoing import MessageError, envelope, read_message

MESSAGE = (
    b"From: Alice <ALICE@example.com>\r\nTo: Bob <bob@example.org>, bob@example.org\r\n"
    b"Cc: Carol <carol@example.net>\r\nBcc: dave@example.com\r\nSubject: hi\r\n\r\nbody\r\n"
)


def test_recipients_bcc_and_from() -> None:
    result = envelope(read_message(MESSAGE), user_email="alice@example.com", display_name="Alice")
    assert result.sender == "alice@example.com"
    assert result.recipients == ("bob@example.org", "carol@example.net", "dave@example.com")
    assert b"Bcc" not in result.message and b"dave@" not in result.message
    assert b"From: Alice <ALICE@example.com>\r\n" in result.message  # the user's: kept
    assert result.message.endswith(b"\r\n\r\nbody\r\n")


@pytest.mark.parametrize(
    "sender",
    [b"Boss <ceo@example.com>", b"alice@example.com, eve@example.com", b"", b"not an address"],
)
def test_someone_elses_from_is_replaced(sender: bytes) -> None:
    data = MESSAGE.replace(b"Alice <ALICE@example.com>", sender)
    result = envelope(read_message(data), user_email="alice@example.com", display_name="Alice")
    parsed = read_message(result.message)
    assert parsed.get_all("From") == ["Alice <alice@example.com>"]


def test_extra_recipients_are_added_once() -> None:
    result = envelope(
        read_message(MESSAGE),
        user_email="alice@example.com",
        extra_recipients=["BOB@example.org", "eve@example.com"],
    )
    assert result.recipients[-1] == "eve@example.com"
    assert len(result.recipients) == 4


def test_no_recipient() -> None:
    with pytest.raises(MessageError):
        envelope(read_message(b"From: a@b.c\r\n\r\nx"), user_email="a@b.c")


def test_backoff_doubles_up_to_an_hour() -> None:
    assert [backoff(n) for n in (1, 2, 3)] == [timedelta(minutes=m) for m in (1, 2, 4)]
    assert backoff(50) == LONGEST_RETRY


_headers = st.lists(
    st.tuples(
        st.sampled_from(["From", "To", "Cc", "Bcc", "Subject", "Content-Type", "X-Y"]),
        st.text(st.characters(blacklist_categories=["Cs"]), max_size=40),
    ),
    max_size=6,
)


@given(headers=_headers, body=st.binary(max_size=100))
def test_hostile_messages_are_relayed_or_refused(
    headers: list[tuple[str, str]], body: bytes
) -> None:
    raw = b"".join(
        f"{name}: {value}".encode("utf-8", "surrogateescape")
        .replace(b"\r", b"")
        .replace(b"\n", b"")
        + b"\r\n"
        for name, value in headers
    )
    try:
        message = read_message(raw + b"\r\n" + body)
        result = envelope(message, user_email="alice@example.com")
    except MessageError:
        return
    assert result.recipients
    assert all("@" in address for address in result.recipients)
    assert read_message(result.message).get_all("Bcc") is None
