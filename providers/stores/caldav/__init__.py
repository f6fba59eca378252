"""The CalDAV store (RFC 4791): ``store.type = "caldav"``.

Modules: ``client`` (HTTP and the error edge), ``davxml`` (request bodies,
multistatus parsing), ``discovery`` (principal and calendar home), ``ids``
(ids <-> hrefs, change tokens), ``calendars`` (collections and the default),
``items`` (objects and change reports), ``store`` (``CalDavStore``).
"""

from providers.stores.caldav.store import CalDavStore

__all__ = ["CalDavStore"]
