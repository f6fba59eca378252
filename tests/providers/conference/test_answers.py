"""What providers answer is untrusted input: any bytes give a link or ProviderRejected."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from providers.conference import ConferenceLink, ProviderRejected
from providers.conference.bigbluebutton import parse_response
from providers.conference.webhook import parse_answer

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)
ANSWERS = st.fixed_dictionaries(
    {},
    optional={
        "url": st.sampled_from(["https://m.example/x", "http://m.example/y", "ftp://x", ""])
        | st.text()
        | JSON,
        "id": st.text() | st.integers() | JSON,
        "text": st.none() | st.text() | JSON,
    },
)


@given(st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()))
def test_webhook_answer_bytes_never_escape_the_tree(body: bytes) -> None:
    try:
        link = parse_answer("create", body)
    except ProviderRejected:
        return
    assert isinstance(link, ConferenceLink)


@given(ANSWERS)
def test_webhook_answer_objects(answer: dict[str, object]) -> None:
    try:
        link = parse_answer("update", json.dumps(answer).encode())
    except ProviderRejected:
        return
    assert link.url == answer["url"]
    assert link.conference_id == str(answer["id"])
    assert link.text == (answer.get("text") or None)


@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_bigbluebutton_answer_bytes_never_escape_the_tree(body: bytes) -> None:
    try:
        root = parse_response("create", body)
    except ProviderRejected:
        return
    assert root.findtext("returncode") == "SUCCESS"


@pytest.mark.parametrize(
    ("body", "outcome"),
    [
        (b"<response><returncode>SUCCESS</returncode></response>", None),
        ((b"<response><returncode>FAILED</returncode><messageKey>checksumError</messageKey>"
         b"</response>"), "failed: checksumError"),
        (b"<response><returncode>FAILED</returncode></response>", "failed: unknown"),
        (b"<html><returncode>SUCCESS</returncode></html>", "not an API answer"),
        (b"<response/>", "not an API answer"),
        (b"", "not XML"),
        # an external entity is never fetched nor expanded
        ((b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
         b"<response><returncode>&x;</returncode></response>"), "failed: unknown"),
    ],
)  # fmt: skip
def test_bigbluebutton_answers(body: bytes, outcome: str | None) -> None:
    if outcome is None:
        assert parse_response("create", body).tag == "response"
        return
    with pytest.raises(ProviderRejected, match=outcome):
        parse_response("create", body)
