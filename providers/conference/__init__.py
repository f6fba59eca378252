"""Conference-link providers: Jitsi, BlueMind Video, BigBlueButton, StarLeaf and a webhook.

base.py holds the protocol, the models and the exception tree; loader.py builds the
configured providers from ``[[conference.providers]]``; templates.py renders the text.
"""

from providers.conference.base import (
    ConferenceLink,
    ConferenceProvider,
    EventContext,
    Person,
    ProviderConfigError,
    ProviderError,
    ProviderRejected,
    ProviderUnavailable,
    SupportsDelete,
    SupportsJoin,
    SupportsUpdate,
)
from providers.conference.loader import (
    ConfiguredProvider,
    ProviderSettings,
    close_providers,
    load_providers,
)

__all__ = [
    "ConferenceLink",
    "ConferenceProvider",
    "ConfiguredProvider",
    "EventContext",
    "Person",
    "ProviderConfigError",
    "ProviderError",
    "ProviderRejected",
    "ProviderSettings",
    "ProviderUnavailable",
    "SupportsDelete",
    "SupportsJoin",
    "SupportsUpdate",
    "close_providers",
    "load_providers",
]
