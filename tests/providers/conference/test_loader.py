"""loader.py: [[conference.providers]] tables -> providers, with clear errors."""

from __future__ import annotations

from typing import Any

import pytest

from providers.conference import ProviderConfigError, close_providers, load_providers
from providers.conference.bigbluebutton import BigBlueButtonProvider
from providers.conference.bluemind_video import BlueMindVideoProvider
from providers.conference.jitsi import JitsiProvider
from providers.conference.starleaf import DEFAULT_API_URL, StarLeafProvider
from providers.conference.webhook import WebhookProvider

JWT_SECRET = "0123456789abcdef0123456789abcdef"


def table(**keys: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "jitsi",
        "type": "jitsi",
        "resource": "Jitsi@Conf.Example.com",
        "base_url": "https://meet.example.com/",
    }
    base.update(keys)
    return {k: v for k, v in base.items() if v is not None}


async def test_every_builtin_type_loads_with_defaults() -> None:
    loaded = load_providers(
        [
            table(display_name="Jitsi video conference", templates={"en": "Join ${URL}"}),
            table(id="jwt", resource="jwt@conf.example.com", jwt_secret=JWT_SECRET,
                  jwt_app_id="easgw"),
            {"id": "bm", "type": "bluemind-video", "resource": "visio@example.com",
             "base_url": "https://video.example.com"},
            {"id": "bbb", "type": "bigbluebutton", "resource": "bbb@example.com",
             "api_url": "https://bbb.example.com/bigbluebutton/api", "secret": "s",
             "checksum_algorithm": "sha256"},
            {"id": "sl", "type": "starleaf", "resource": "sl@example.com", "token": "t"},
            {"id": "hook", "type": "webhook", "resource": "hook@example.com",
             "url": "https://hooks.example.com/conf", "secret": "s", "timeout_seconds": 2},
        ]
    )  # fmt: skip
    jitsi, jwt_mode, bm, bbb, sl, hook = loaded
    assert isinstance(jitsi.provider, JitsiProvider) and jitsi.provider.jwt is None
    assert jitsi.provider.base_url == "https://meet.example.com"
    assert jitsi.settings.resource == "jitsi@conf.example.com"  # compared case-insensitively
    assert jitsi.settings.display_name == "Jitsi video conference"
    assert (jitsi.settings.default_language, jitsi.settings.location) == ("en", "if-empty")
    assert jitsi.settings.delete_on_remove is False
    assert (jitsi.settings.keywords, jitsi.settings.always_for, jitsi.settings.allowed) == (
        (), (), ()
    )  # fmt: skip
    assert isinstance(jwt_mode.provider, JitsiProvider) and jwt_mode.provider.jwt is not None
    assert jwt_mode.provider.jwt.audience == "jitsi"
    assert jwt_mode.provider.jwt.margin.total_seconds() == 3600
    assert jwt_mode.settings.display_name == "jwt"  # defaults to the id
    assert isinstance(bm.provider, BlueMindVideoProvider)
    assert isinstance(bbb.provider, BigBlueButtonProvider)
    assert bbb.provider.algorithm == "sha256"
    assert isinstance(sl.provider, StarLeafProvider) and sl.provider.api_url == DEFAULT_API_URL
    assert isinstance(hook.provider, WebhookProvider) and hook.provider.timeout == 2
    text = jitsi.render_text(url="https://meet.example.com/r", organizer=None, language="de")
    assert text == "Join https://meet.example.com/r"
    await close_providers(loaded)


async def test_common_keys_are_read() -> None:
    (loaded,) = load_providers(
        [table(delete_on_remove=True, location="never", keywords=["visio", "Jitsi"],
               always_for=["Alice", "@Sales.Example.com"], allowed=["@example.com"],
               default_language="fr")]
    )  # fmt: skip
    s = loaded.settings
    assert (s.delete_on_remove, s.location, s.default_language) == (True, "never", "fr")
    assert s.keywords == ("visio", "Jitsi")
    assert s.always_for == ("alice", "@sales.example.com")
    assert s.allowed == ("@example.com",)
    await close_providers([loaded])


@pytest.mark.parametrize(
    ("tables", "message"),
    [
        ([table(id=None)], r"conference.providers\[0\]: id: is required"),
        ([table(type=None)], r"\(jitsi\): type: is required"),
        ([table(type="zoom")], "type: expected jitsi, bluemind-video, .* or package.module:Class"),
        ([table(type="no.such.module:Thing")], "type: cannot load no.such.module:Thing"),
        ([table(type="providers.conference.templates:render")], "has no from_options"),
        ([table(resource=None)], "resource: is required"),
        ([table(resource="Jitsi <jitsi@example.com>")], "resource: expected a bare e-mail"),
        ([table(resource="mailto:jitsi@example.com")], "resource: expected a bare e-mail"),
        ([table(base_url=None)], "base_url: is required"),
        ([table(base_url="meet.example.com")], "base_url: expected an http"),
        ([table(base_url="https://meet.example.com/?x=1")], "base_url: must not carry a query"),
        ([table(base_url=5)], "base_url: expected a string"),
        ([table(base_url_typo="x")], "unknown key base_url_typo"),
        ([table(location="always")], "location: expected one of if-empty, never"),
        ([table(delete_on_remove="yes")], "delete_on_remove: expected true or false"),
        ([table(keywords="visio")], "keywords: expected a list"),
        ([table(always_for=["@localhost"])], "always_for: expected a user or an @domain"),
        ([table(templates={"en": 1})], "templates: expected a table of strings"),
        ([table(templates={"english please": "x"})], "is not a language tag"),
        ([table(default_language="")], None),  # empty = the default
        ([table(jwt_app_id="easgw")], "jwt_app_id: needs jwt_secret"),
        ([table(jwt_secret="short", jwt_app_id="a")], "jwt_secret: must be at least 32 bytes"),
        ([table(jwt_secret=JWT_SECRET)], "jwt_app_id: is required"),
        ([table(jwt_secret=JWT_SECRET, jwt_app_id="a", jwt_margin_minutes=-1)],
         "jwt_margin_minutes: must be at least 0"),
        ([{"id": "b", "type": "bigbluebutton", "resource": "b@example.com",
           "api_url": "https://b.example.com/api"}], r"\(b\): secret: is required"),
        ([{"id": "b", "type": "bigbluebutton", "resource": "b@example.com",
           "api_url": "https://b.example.com/api", "secret": "s", "checksum_algorithm": "md5"}],
         "checksum_algorithm: expected one of sha1"),
        ([{"id": "s", "type": "starleaf", "resource": "s@example.com"}], "token: is required"),
        ([{"id": "w", "type": "webhook", "resource": "w@example.com", "url": "https://h.example.com",
           "secret": "s", "timeout_seconds": 0}], "timeout_seconds: must be at least 0.1"),
        ([{"id": "w", "type": "webhook", "resource": "w@example.com",
           "url": "https://h.example.com"}], "secret: is required"),
        ([table(), table()], "id 'jitsi' twice"),
        ([table(), table(id="other")],
         "resource jitsi@conf.example.com is used by jitsi and other"),
    ],
)  # fmt: skip
async def test_invalid_tables(tables: list[dict[str, Any]], message: str | None) -> None:
    if message is None:
        await close_providers(load_providers(tables))
        return
    with pytest.raises(ProviderConfigError, match=message):
        load_providers(tables)


class CustomProvider:
    """A third-party provider loaded by ``package.module:Class``."""

    def __init__(self, room_prefix: str) -> None:
        self.room_prefix = room_prefix

    @classmethod
    def from_options(cls, options: Any, **_: Any) -> CustomProvider:
        return cls(options.string("room_prefix", required=True))

    async def create(self, context: Any) -> Any:
        raise NotImplementedError

    async def close(self) -> None:
        return None


async def test_a_provider_class_by_path() -> None:
    (loaded,) = load_providers(
        [{"id": "x", "type": f"{__name__}:CustomProvider", "resource": "x@example.com",
          "room_prefix": "team-"}]
    )  # fmt: skip
    assert isinstance(loaded.provider, CustomProvider)
    assert loaded.provider.room_prefix == "team-"
    assert loaded.settings.type == f"{__name__}:CustomProvider"
