"""A faster read of stored iCalendar text into icalendar's own objects.

icalendar splits every content line with a character-by-character loop
(``Contentline.raw_parts``) and builds ``Parameters`` twice per line; on a
Sync window of stored events that loop is most of the server's time. Most
lines of a stored event carry no parameters (``UID:...``, ``SUMMARY:...``,
``DTSTART:...Z``): for those the split is just "the name before the first
colon", which :class:`_Line` answers directly; with parameters but no quote
or backslash before the first colon, icalendar's loop runs on that head only
(not on a long value), once per distinct head. Any other line goes through icalendar's own
``raw_parts`` unchanged, and the components are built by
icalendar's own parser, so the result is exactly ``Calendar.from_ical``'s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

import icalendar
from icalendar.parser.content_line import NEWLINE, UFOLD, Contentline, Contentlines
from icalendar.parser.ical.component import ComponentIcalParser
from icalendar.parser.parameter import Parameters

__all__ = ["parse_calendar_text"]

#: A property name the fast path may take as is (icalendar's token is ``[\w.-]+``).
_PLAIN_NAME = re.compile(r"[A-Za-z0-9-]+")


_Items = tuple[tuple[str, str | tuple[str, ...]], ...]


@functools.lru_cache(maxsize=1024)
def _split_head(head: str, strict: bool) -> tuple[str, _Items]:
    """icalendar's split of a line's ``name;parameters`` head, remembered: the
    same heads recur (``ATTENDEE;CN=...;PARTSTAT=...``, ``DTSTART;TZID=...``).
    The parameters come back as items (lists as tuples) so that every line gets
    its own ``Parameters`` built from them, as icalendar builds its own."""
    name, params, _ = _plain_line(head + ":", strict=strict).raw_parts()
    return str(name), tuple(
        (str(key), tuple(value) if isinstance(value, list) else value)
        for key, value in params.items()
    )


class _Line(Contentline):
    """A content line whose parameter-less form splits without the per-character loop."""

    __slots__ = ()

    def raw_parts(self) -> tuple[str, Parameters, str]:
        colon = self.find(":")
        if colon > 0:
            head = self[:colon]
            if _PLAIN_NAME.fullmatch(head):
                # No ';', '"' or '\\' before the colon: icalendar's loop finds
                # the same name and value with no parameters.
                return str(head), Parameters(), self[colon + 1 :]
            if '"' not in head and "\\" not in head:
                # Nothing quoted or escaped before the first colon: it ends the
                # parameters, so icalendar's split of the head alone is the same.
                strict = bool(getattr(self, "strict", False))
                name, items = _split_head(str(head), strict)
                params = Parameters(
                    (key, list(value) if isinstance(value, tuple) else value)
                    for key, value in items
                )
                return name, params, self[colon + 1 :]
        return super().raw_parts()


#: icalendar's constructors are untyped; these typed names call them.
_plain_line: Callable[..., Contentline] = Contentline
_line: Callable[[str], Contentline] = _Line


def _content_lines(text: str) -> Contentlines:
    """As ``Contentlines.from_ical``, with :class:`_Line` lines."""
    lines = Contentlines(_line(line) for line in NEWLINE.split(UFOLD.sub("", text)) if line)
    lines.append(_plain_line(""))
    return lines


def parse_calendar_text(text: str) -> icalendar.Component:
    """``icalendar.Calendar.from_ical(text)``, faster; ValueError as it raises."""
    try:
        lines = _content_lines(text)
    except Exception as exc:  # as Contentlines.from_ical words it
        raise ValueError("Expected StringType with content lines") from exc
    parser = ComponentIcalParser(
        lines,
        icalendar.Calendar._get_component_factory(),
        icalendar.Calendar.types_factory,
    )
    components = parser.parse()
    if len(components) != 1:
        raise ValueError(f"expected one component, found {len(components)}")
    return components[0]
