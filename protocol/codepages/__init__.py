"""The 26 WBXML code pages of Exchange ActiveSync (MS-ASWBXML 2.1.2.1), as data.

Each page lives in its own small module and declares one :class:`CodePage`.
A tag's local name is spelled exactly as MS-ASWBXML spells it; its XML
namespace is the page's name followed by a colon (``AirSync:``), the convention
MS-ASCMD's XML examples and libwbxml use (CONTRACTS.md section 1).
"""

from __future__ import annotations

from protocol.codepages import (
    airnotify,
    airsync,
    airsyncbase,
    calendar,
    composemail,
    contacts,
    contacts2,
    documentlibrary,
    email,
    email2,
    find,
    folderhierarchy,
    gal,
    getitemestimate,
    itemoperations,
    meetingresponse,
    move,
    notes,
    ping,
    provision,
    resolverecipients,
    rightsmanagement,
    search,
    settings,
    tasks,
    validatecert,
)
from protocol.codepages.page import CodePage

__all__ = ["PAGES", "CodePage", "page_by_namespace"]

#: Every page, indexed by its number (``PAGES[4]`` is Calendar).
PAGES: tuple[CodePage, ...] = (
    airsync.PAGE,
    contacts.PAGE,
    email.PAGE,
    airnotify.PAGE,
    calendar.PAGE,
    move.PAGE,
    getitemestimate.PAGE,
    folderhierarchy.PAGE,
    meetingresponse.PAGE,
    tasks.PAGE,
    resolverecipients.PAGE,
    validatecert.PAGE,
    contacts2.PAGE,
    ping.PAGE,
    provision.PAGE,
    search.PAGE,
    gal.PAGE,
    airsyncbase.PAGE,
    settings.PAGE,
    documentlibrary.PAGE,
    itemoperations.PAGE,
    composemail.PAGE,
    email2.PAGE,
    notes.PAGE,
    rightsmanagement.PAGE,
    find.PAGE,
)

_BY_NAMESPACE = {page.namespace: page for page in PAGES}


def page_by_namespace(namespace: str) -> CodePage | None:
    """The page whose XML namespace is ``namespace``, or None."""
    return _BY_NAMESPACE.get(namespace)
