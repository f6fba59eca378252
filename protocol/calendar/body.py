"""Calendar bodies: plain text <-> HTML and BodyPreference (MS-ASAIRS 2.2.2.9, 2.2.2.7).

A body is stored in iCalendar as DESCRIPTION (plain text) plus, when the
original is HTML, ``X-ALT-DESC;FMTTYPE=text/html``. :func:`body_for_preference`
turns that pair into the :class:`~protocol.calendar.model.Body` a device asked
for: Type 1 (plain) or 2 (HTML; plain text is converted with ``html.escape``
and ``<br>``), cut at TruncationSize with Truncated=1 and the full
EstimatedDataSize. Types 3 (RTF) and 4 (MIME) are answered as plain text.

Sizes count UTF-8 bytes (MS-ASAIRS 2.2.2.40.1 TruncationSize, 2.2.2.23
EstimatedDataSize); truncation never splits a character.
"""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

from protocol.calendar.model import Body, BodyPreference

__all__ = [
    "BodyType",
    "body_for_preference",
    "html_to_text",
    "text_to_html",
    "truncate_utf8",
]


class BodyType:
    """AirSyncBase Type values (MS-ASAIRS 2.2.2.41.1)."""

    PLAIN = 1
    HTML = 2
    RTF = 3
    MIME = 4


_BLOCK_TAGS = frozenset(
    {"p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul", "ol", "pre"}
)
_SKIP_TAGS = frozenset({"script", "style", "head", "title"})


class _TextCollector(HTMLParser):
    """Collects the visible text of an HTML document, one line per block."""

    parts: list[str]
    skipping: int

    def __init__(self) -> None:
        HTMLParser.__init__(self, convert_charrefs=True)
        self.parts = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skipping += 1
        elif tag == "br" or tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skipping = max(0, self.skipping - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"[ \t\r\n\f]+", " ", data))


def html_to_text(document: str) -> str:
    """The visible text of an HTML body: blocks and ``<br>`` become line breaks."""
    collector = _TextCollector()
    collector.feed(document)
    collector.close()
    lines = [line.strip() for line in "".join(collector.parts).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def text_to_html(text: str) -> str:
    """A plain-text body as HTML: escaped, line breaks as ``<br>``."""
    escaped = html.escape(text, quote=False)
    lines = escaped.replace("\r\n", "\n").split("\n")
    return "<html><body>" + "<br>\n".join(lines) + "</body></html>"


def truncate_utf8(text: str, size: int) -> tuple[str, bool]:
    """``text`` cut to at most ``size`` UTF-8 bytes on a character boundary, and whether it was."""
    raw = text.encode("utf-8")
    if len(raw) <= size:
        return text, False
    return raw[:size].decode("utf-8", errors="ignore"), True


def body_for_preference(text: str, html: str | None, preference: BodyPreference | None) -> Body:
    """The Body a device asked for, from the stored plain text and optional HTML original.

    No preference: the plain text, whole. AllOrNone with a body over the size:
    no data, Truncated=1 (MS-ASAIRS 2.2.2.4). Preview: the first characters
    of the plain text (14.0+, MS-ASAIRS 2.2.2.35).
    """
    wanted = preference.type if preference is not None else BodyType.PLAIN
    plain = text if text or html is None else html_to_text(html)
    if wanted == BodyType.HTML:
        data = html if html is not None else (text_to_html(text) if text else "")
        kind = BodyType.HTML
    else:
        data, kind = plain, BodyType.PLAIN
    size = len(data.encode("utf-8"))
    truncated = False
    if preference is not None and preference.truncation_size is not None:
        data, truncated = truncate_utf8(data, preference.truncation_size)
        if truncated and preference.all_or_none:
            data = ""
    preview = None
    if preference is not None and preference.preview:
        preview = plain[: preference.preview]
    return Body(type=kind, data=data, estimated_size=size, truncated=truncated, preview=preview)
