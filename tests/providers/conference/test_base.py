"""base.py: the models validate once; the exception tree; capability protocols."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from providers.conference import (
    ConferenceLink,
    ConferenceProvider,
    ProviderConfigError,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SupportsDelete,
    SupportsJoin,
    SupportsUpdate,
)
from providers.conference.bigbluebutton import BigBlueButtonProvider
from providers.conference.bluemind_video import BlueMindVideoProvider
from providers.conference.jitsi import JitsiProvider
from providers.conference.starleaf import StarLeafProvider
from providers.conference.webhook import WebhookProvider
from tests.providers.conference.events import START, event


def test_event_context_needs_aware_times_in_order() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        event(start=datetime(2026, 12, 1, 9, 0))  # noqa: DTZ001
    with pytest.raises(ValueError, match="before start"):
        event(end=START - timedelta(minutes=1))
    with pytest.raises(ValueError, match="recurring"):
        event(rrule="FREQ=DAILY")
    assert event(rrule="FREQ=DAILY", recurring=True).recurring


def test_conference_link_needs_an_http_url_and_an_id() -> None:
    with pytest.raises(ValueError, match="http"):
        ConferenceLink(url="javascript:alert(1)", conference_id="x")
    with pytest.raises(ValueError, match="conference_id"):
        ConferenceLink(url="https://m.example/x", conference_id="")


def test_exception_tree() -> None:
    assert issubclass(ProviderUnavailable, ProviderError)
    assert issubclass(ProviderRejected, ProviderError)
    assert not issubclass(ProviderConfigError, ProviderError)
    assert issubclass(ProviderConfigError, ValueError)
    assert ProviderUnavailable("down", retry_after=3).retry_after == 3
    assert ProviderUnavailable("down").retry_after is None


async def test_capabilities_by_type() -> None:
    """Each provider offers exactly the optional abilities it really has."""
    jitsi = JitsiProvider(base_url="https://meet.example.com")
    bluemind = BlueMindVideoProvider(base_url="https://bm.example.com")
    bbb = BigBlueButtonProvider(api_url="http://127.0.0.1:9/bigbluebutton/api", secret="s")
    starleaf = StarLeafProvider(api_url="http://127.0.0.1:9/v1", token="t")
    webhook = WebhookProvider(url="http://127.0.0.1:9/hook", secret="s")
    table = {
        jitsi: (False, False, True),
        bluemind: (False, False, False),
        bbb: (False, False, True),
        starleaf: (True, True, False),
        webhook: (True, True, False),
    }
    for provider, (update, delete, join) in table.items():
        assert isinstance(provider, ConferenceProvider)
        assert isinstance(provider, SupportsUpdate) is update, provider
        assert isinstance(provider, SupportsDelete) is delete, provider
        assert isinstance(provider, SupportsJoin) is join, provider
        await provider.close()
