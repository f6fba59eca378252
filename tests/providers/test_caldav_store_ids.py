"""CalDAV ids, sync tokens and multistatus parsing: pure functions fed untrusted input.

Item and calendar ids are what a phone sends back, tokens what it stores, and the
multistatus XML what any server may answer; each must map back exactly or be refused
cleanly (no escape from the collection, no entity expansion), never crash.
Split from test_caldav_store.py by theme."""

from __future__ import annotations

import contextlib
from urllib.parse import quote

from hypothesis import given
from hypothesis import strategies as st

from providers.stores.caldav import davxml
from providers.stores.caldav.ids import (
    calendar_href,
    calendar_id_for,
    item_href,
    item_id_for,
    item_id_for_uid,
    make_token,
    read_token,
)
from tests.providers.test_store_conformance import URL_SAFE

# -- ids and XML (untrusted input) ------------------------------------------------------

SEGMENTS = st.text(
    st.characters(blacklist_categories=["Cs"], blacklist_characters="/"), min_size=1, max_size=90
).filter(lambda s: s not in {".", ".."})


@given(SEGMENTS)
def test_item_ids_map_back_to_their_href(segment: str) -> None:
    calendar = "http://dav.example/alice/work/"
    href = calendar + quote(segment, safe="")
    item_id = item_id_for(href)
    assert item_href(calendar, item_id) is not None
    assert item_id_for(item_href(calendar, item_id) or "") == item_id
    assert URL_SAFE.fullmatch(item_id)


@given(SEGMENTS)
def test_calendar_ids_map_back_to_their_href(segment: str) -> None:
    home = "http://dav.example/alice/"
    calendar_id = calendar_id_for(home + quote(segment, safe="") + "/")
    assert URL_SAFE.fullmatch(calendar_id)
    url = calendar_href(home, calendar_id)
    assert url is not None
    assert calendar_id_for(url) == calendar_id


@given(st.text(max_size=80))
def test_ids_never_escape_their_collection(value: str) -> None:
    for href in (item_href("http://d/a/c/", value), calendar_href("http://d/a/", value)):
        if href is not None:
            assert "/../" not in href
            assert href.count("/") in (5, 4)


@given(st.text(max_size=300))
def test_uid_derived_ids_are_item_ids(uid: str) -> None:
    item_id = item_id_for_uid(uid)
    assert len(item_id) <= 64
    assert item_id_for(item_href("http://d/a/c/", item_id) or "") == item_id


def test_tokens_are_bound_to_user_calendar_and_method() -> None:
    token = make_token("s", "alice", "work", "http://radicale.org/ns/sync/abc")
    assert token is not None
    assert len(token) <= 255
    assert read_token(token, "s", "alice", "work") == "http://radicale.org/ns/sync/abc"
    assert read_token(token, "c", "alice", "work") is None
    assert read_token(token, "s", "bob", "work") is None
    assert read_token(token, "s", "alice", "home") is None
    assert make_token("s", "alice", "work", "x" * 300) is None


@given(st.sampled_from(["s", "c"]), st.text(min_size=1, max_size=40), st.text(max_size=300))
def test_tokens_round_trip_or_are_refused(method: str, login: str, value: str) -> None:
    token = make_token("s" if method == "s" else "c", login, "cal", value)
    if token is None:
        assert len(value) > 255 - len("s01234567:")
    else:
        assert len(token) <= 255
        assert read_token(token, method, login, "cal") == value
    assert read_token(value, method, login, "cal") in (None, value[10:])


@given(st.binary(max_size=2000))
def test_multistatus_parsing_refuses_garbage_cleanly(data: bytes) -> None:
    with contextlib.suppress(davxml.DavXmlError):
        davxml.parse_multistatus(data)
    assert isinstance(davxml.parse_error_conditions(data), set)


def test_multistatus_parsing_resolves_no_entities() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b'<multistatus xmlns="DAV:"><response><href>/a/</href><propstat><prop>'
        b"<displayname>&x;</displayname></prop><status>HTTP/1.1 200 OK</status>"
        b"</propstat></response></multistatus>"
    )
    (response,) = davxml.parse_multistatus(body).responses
    assert "root:" not in (response.text("d:displayname") or "")
