"""Jitsi and BlueMind Video: random rooms, no API call; Jitsi JWT mode per person."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from providers.conference.bluemind_video import BlueMindVideoProvider
from providers.conference.jitsi import JitsiJwt, JitsiProvider
from tests.providers.conference.events import START, event

SECRET = "a-jitsi-shared-secret-of-32-bytes!"


async def test_room_is_128_random_bits_never_the_title_or_organizer() -> None:
    provider = JitsiProvider(base_url="https://meet.example.com/")
    context = event(summary="Board meeting", conference_id="ignored")
    links = [await provider.create(context) for _ in range(50)]
    rooms = {link.conference_id for link in links}
    assert len(rooms) == 50
    for link in links:
        assert re.fullmatch(r"[0-9a-f]{32}", link.conference_id)
        assert link.url == f"https://meet.example.com/{link.conference_id}"
        assert "board" not in link.url.lower()
        assert "alice" not in link.url.lower()
        assert link.text is None
        assert link.join_via_gateway is False
    # without JWT the join URL is the room itself
    assert (
        await provider.join_url(
            links[0], context, moderator=True, display_name="Alice", email="alice@example.com"
        )
        == links[0].url
    )


async def test_jwt_mode_joins_through_the_gateway_with_a_fresh_token_per_person() -> None:
    provider = JitsiProvider(
        base_url="https://meet.example.com",
        jwt_settings=JitsiJwt(app_id="easgw", secret=SECRET, audience="jitsi",
                              margin=timedelta(minutes=30)),
    )  # fmt: skip
    context = event()
    link = await provider.create(context)
    assert link.join_via_gateway is True
    assert "jwt" not in link.url  # no bearer token is ever part of the stored link

    host = await provider.join_url(
        link, context, moderator=True, display_name="Alice Martin", email="alice@example.com"
    )
    guest = await provider.join_url(link, context, moderator=False, display_name="Guest", email="")
    assert host.startswith(link.url + "?jwt=")
    host_claims = jwt.decode(
        host.split("?jwt=", 1)[1], SECRET, algorithms=["HS256"], audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )  # fmt: skip
    assert host_claims == {
        "iss": "easgw",
        "aud": "jitsi",
        "sub": "meet.example.com",
        "room": link.conference_id,
        "nbf": int((START - timedelta(minutes=30)).timestamp()),
        "exp": int((START + timedelta(hours=1, minutes=30)).timestamp()),
        "context": {
            "user": {"name": "Alice Martin", "email": "alice@example.com", "moderator": True}
        },
    }
    guest_claims = jwt.decode(
        guest.split("?jwt=", 1)[1], SECRET, algorithms=["HS256"], audience="jitsi",
        options={"verify_nbf": False, "verify_exp": False},
    )  # fmt: skip
    assert guest_claims["context"]["user"]["moderator"] is False


@pytest.mark.parametrize(
    ("offset", "outcome"),
    [
        (timedelta(days=2), jwt.ImmatureSignatureError),  # before start - margin
        (timedelta(days=-2), jwt.ExpiredSignatureError),  # after end + margin
        (timedelta(minutes=-10), None),  # during the meeting
        (timedelta(minutes=20), None),  # within the margin before it
    ],
)
async def test_token_is_valid_only_around_the_occurrence(
    offset: timedelta, outcome: type[Exception] | None
) -> None:
    provider = JitsiProvider(
        base_url="https://meet.example.com",
        jwt_settings=JitsiJwt(app_id="easgw", secret=SECRET, margin=timedelta(minutes=30)),
    )
    start = datetime.now(UTC) + offset
    context = event(start=start, end=start + timedelta(minutes=45))
    link = await provider.create(context)
    url = await provider.join_url(link, context, moderator=False, display_name="G", email="")
    token = url.split("?jwt=", 1)[1]
    if outcome is None:
        assert jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi")["room"] == (
            link.conference_id
        )
    else:
        with pytest.raises(outcome):
            jwt.decode(token, SECRET, algorithms=["HS256"], audience="jitsi")


def test_signature_needs_the_secret() -> None:
    provider = JitsiProvider(
        base_url="https://meet.example.com", jwt_settings=JitsiJwt(app_id="a", secret=SECRET)
    )
    token = provider.token(room="r", event=event(), user={"name": "x"})
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(
            token, "another-secret-that-is-32-bytes-long", algorithms=["HS256"],
            audience="jitsi", options={"verify_nbf": False, "verify_exp": False},
        )  # fmt: skip


async def test_bluemind_video_links() -> None:
    provider = BlueMindVideoProvider(base_url="https://video.example.org/")
    first = await provider.create(event())
    second = await provider.create(event())
    assert re.fullmatch(r"https://video\.example\.org/visio/[0-9a-f]{32}", first.url)
    assert first.url.endswith(first.conference_id)
    assert first.conference_id != second.conference_id
    assert first.join_via_gateway is False
    await provider.close()
