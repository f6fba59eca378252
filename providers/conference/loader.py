"""Building the configured providers from the ``[[conference.providers]]`` tables.

easgw/config.py keeps the tables raw; every provider key is validated here
(CONTRACTS.md section 5), with errors that name the table and the key. ``type`` is a
built-in name (:data:`BUILTIN`) or ``package.module:Class`` (Radicale's plugin
convention, like ``store.type``): a class with ``from_options(options, *, http=None)``
that reads its own keys from an :class:`~providers.conference.options.Options` and
returns a :class:`~providers.conference.base.ConferenceProvider`.

Keys every type has, kept in :class:`ProviderSettings` for the link rules
(easgw/conference.py): ``id``, ``type``, ``resource``, ``display_name``, ``templates``,
``default_language`` (``en``), ``delete_on_remove`` (false), ``location``
(``if-empty`` or ``never``; default ``if-empty``), ``keywords``, ``always_for``,
``allowed`` (``[]`` = everyone).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from providers.conference.base import ConferenceProvider, ProviderConfigError
from providers.conference.options import Options
from providers.conference.templates import render_text

__all__ = [
    "BUILTIN",
    "COMMON_KEYS",
    "ConfiguredProvider",
    "ProviderSettings",
    "close_providers",
    "load_provider",
    "load_providers",
]

BUILTIN = {
    "jitsi": "providers.conference.jitsi:JitsiProvider",
    "bluemind-video": "providers.conference.bluemind_video:BlueMindVideoProvider",
    "bigbluebutton": "providers.conference.bigbluebutton:BigBlueButtonProvider",
    "starleaf": "providers.conference.starleaf:StarLeafProvider",
    "webhook": "providers.conference.webhook:WebhookProvider",
}
COMMON_KEYS = (
    "id", "type", "resource", "display_name", "templates", "default_language",
    "delete_on_remove", "location", "keywords", "always_for", "allowed",
)  # fmt: skip
LOCATION_MODES = ("if-empty", "never")
_ADDRESS = re.compile(r"^[^@\s<>\"():;,]+@[^@\s<>\"():;,]+\.[^@\s<>\"():;,]+$")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,8}(?:[-_][A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSettings:
    """The keys of one provider table that every type shares."""

    id: str
    type: str
    resource: str
    display_name: str
    templates: Mapping[str, str] = field(default_factory=dict)
    default_language: str = "en"
    delete_on_remove: bool = False
    location: str = "if-empty"
    keywords: tuple[str, ...] = ()
    always_for: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfiguredProvider:
    """One ``[[conference.providers]]`` table: its settings and its provider."""

    settings: ProviderSettings
    provider: ConferenceProvider

    @property
    def id(self) -> str:
        return self.settings.id

    def render_text(self, *, url: str, organizer: str | None, language: str | None) -> str:
        """The description text for a link (templates.py), the organizer's language first."""
        return render_text(
            self.settings.templates,
            language=language,
            default_language=self.settings.default_language,
            url=url,
            organizer=organizer,
            resource_name=self.settings.display_name,
        )


def _principals(options: Options, key: str) -> tuple[str, ...]:
    """Users (login or e-mail) or ``@domain`` entries, lowercased."""
    values = tuple(value.strip().lower() for value in options.strings(key))
    for value in values:
        if value.startswith("@") and "." not in value[1:]:
            raise options.error(key, f"expected a user or an @domain, got {value!r}")
    return values


def _settings(options: Options, kind: str) -> ProviderSettings:
    provider_id = options.string("id", required=True)
    resource = options.string("resource", required=True).strip()
    if resource.lower().startswith("mailto:") or not _ADDRESS.match(resource):
        raise options.error("resource", f"expected a bare e-mail address, got {resource!r}")
    templates = options.table("templates")
    for tag in templates:
        if not _LANGUAGE.match(tag):
            raise options.error("templates", f"{tag!r} is not a language tag")
    default_language = options.string("default_language", "en")
    if not _LANGUAGE.match(default_language):
        raise options.error("default_language", f"{default_language!r} is not a language tag")
    return ProviderSettings(
        id=provider_id,
        type=kind,
        resource=resource.lower(),
        display_name=options.string("display_name", provider_id),
        templates=templates,
        default_language=default_language,
        delete_on_remove=options.boolean("delete_on_remove", False),
        location=options.choice("location", LOCATION_MODES, "if-empty"),
        keywords=tuple(word.strip() for word in options.strings("keywords")),
        always_for=_principals(options, "always_for"),
        allowed=_principals(options, "allowed"),
    )


def _factory(options: Options, kind: str) -> Any:
    target = BUILTIN.get(kind, kind)
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name:
        known = ", ".join(BUILTIN)
        raise options.error("type", f"expected {known} or package.module:Class, got {kind!r}")
    try:
        factory = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise options.error("type", f"cannot load {target}: {exc}") from None
    if not callable(getattr(factory, "from_options", None)):
        raise options.error("type", f"{target} has no from_options(options)")
    return factory


def load_provider(table: Mapping[str, Any], index: int = 0) -> ConfiguredProvider:
    """One table -> its settings and a ready provider (not yet used: nothing is called)."""
    label = table.get("id") if isinstance(table.get("id"), str) else None
    where = f"conference.providers[{index}]" + (f" ({label})" if label else "")
    options = Options(table, where)
    kind = options.string("type", required=True)
    settings = _settings(options, kind)
    factory = _factory(options, kind)
    provider = factory.from_options(options)
    options.finish()
    if not isinstance(provider, ConferenceProvider):
        raise options.error("type", f"{kind} did not make a conference provider")
    return ConfiguredProvider(settings=settings, provider=provider)


def load_providers(tables: Sequence[Mapping[str, Any]]) -> tuple[ConfiguredProvider, ...]:
    """Every table, in order; ids and resources must be unique."""
    loaded: list[ConfiguredProvider] = []
    for index, table in enumerate(tables):
        configured = load_provider(table, index)
        for other in loaded:
            if other.id == configured.id:
                raise ProviderConfigError(f"conference.providers: id {other.id!r} twice")
            if other.settings.resource == configured.settings.resource:
                raise ProviderConfigError(
                    f"conference.providers: resource {other.settings.resource} is used by "
                    f"{other.id} and {configured.id}"
                )
        loaded.append(configured)
    return tuple(loaded)


async def close_providers(providers: Iterable[ConfiguredProvider]) -> None:
    """Close every provider (HTTP clients); call once at shutdown."""
    for configured in providers:
        await configured.provider.close()
