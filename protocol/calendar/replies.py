"""An attendee's answer to an invitation, applied to the stored event (MeetingResponse).

:func:`apply_reply` returns a :class:`Reply`: the new iCalendar text, nothing
to change (the same answer again: MeetingResponse is idempotent, iOS sends it
twice), or "remove the item". What it does:

* accept / tentative, no instance: the user's ATTENDEE gets PARTSTAT
  ACCEPTED / TENTATIVE and loses RSVP (the reply is made), in the master and
  in every override that lists the user (MS-ASCMD 2.2.3.92.1: without
  InstanceId "the action is to be taken on every instance"). A user the
  master does not list (invited through a list) is added. The master also
  records what the phone shows (MS-ASCAL): ResponseType 2/3
  (``X-EASGW-RESPONSE-TYPE``), MeetingStatus 3 "received from someone else"
  (7 when cancelled), AppointmentReplyTime, and BusyStatus: tentative ->
  Tentative, accepted -> the organizer's intended status (or Busy): MS-ASCMD
  2.2.3.18 "The client also changes the busy status from tentative to busy".
* accept / tentative of one instance: the occurrence's override gets the
  PARTSTAT (one is created from the master when there is none).
* decline, no instance: the item is removed from the attendee's calendar:
  MS-ASCMD 3.1.5.6 "Receiving and Accepting Meeting Requests" (requirement
  R5072 of Microsoft's test suite): "If the response to the meeting is
  declined, the response will not contain a meetingresponse:CalendarId
  element because the server will delete the corresponding calendar item";
  Exchange does so (the declined meeting leaves the calendar).
* decline of one instance: that occurrence is removed (an EXDATE; its
  override, if any, goes).

Problems (:class:`ReplyError`): not a meeting (no ORGANIZER or ATTENDEE), the
user is the organizer (MS-ASCMD 2.2.3.177.9 Status 2), an instance on an
event that does not recur (Status 146, MS-ASCMD 2.2.3.92.1), an instance that
is not an occurrence (Status 2).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import icalendar
from dateutil.rrule import rrulestr

from protocol.calendar import ical_fields as fields
from protocol.calendar.ical_fields import copy_event
from protocol.calendar.ical_parse import parse_calendar_text
from protocol.calendar.overrides import exceptions_to_ical
from protocol.calendar.recurrence import ExceptionData

__all__ = ["Answer", "Reply", "ReplyError", "ReplyProblem", "apply_reply"]


class Answer(enum.Enum):
    """The attendee's answer, as its PARTSTAT."""

    ACCEPTED = "ACCEPTED"
    TENTATIVE = "TENTATIVE"
    DECLINED = "DECLINED"


class ReplyProblem(enum.Enum):
    NOT_A_MEETING = "not a meeting"
    ORGANIZER = "the user is the organizer"
    NOT_RECURRING = "the event does not recur"
    NO_SUCH_INSTANCE = "no such occurrence"


class ReplyError(ValueError):
    def __init__(self, problem: ReplyProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True, slots=True, kw_only=True)
class Reply:
    """``ical`` None and ``remove`` False: nothing changes."""

    ical: str | None = None
    remove: bool = False


#: MS-ASCAL 2.2.2.38 ResponseType: 2 tentative, 3 accepted.
_RESPONSE_TYPE: Final = {Answer.TENTATIVE: "2", Answer.ACCEPTED: "3"}
_RESPONSE_TYPE_PROPERTY: Final = "X-EASGW-RESPONSE-TYPE"
_MEETING_STATUS_PROPERTY: Final = "X-EASGW-MEETING-STATUS"
_REPLY_TIME_PROPERTY: Final = "X-EASGW-APPOINTMENT-REPLY-TIME"
_BUSY_PROPERTY: Final = "X-MICROSOFT-CDO-BUSYSTATUS"
_INTENDED_PROPERTY: Final = "X-MICROSOFT-CDO-INTENDEDSTATUS"
_NOT_AN_INSTANCE: Final = ReplyError(ReplyProblem.NO_SUCH_INSTANCE)


def _address(value: Any) -> str:
    text = str(value)
    return (text[7:] if text.lower().startswith("mailto:") else text).strip().lower()


def _user_attendee(event: icalendar.Event, email: str) -> Any | None:
    return next((a for a in fields.values_of(event, "ATTENDEE") if _address(a) == email), None)


def _set_partstat(event: icalendar.Event, email: str, answer: Answer, name: str, add: bool) -> bool:
    """The user's PARTSTAT in ``event``; True when something changed."""
    attendee = _user_attendee(event, email)
    if attendee is None:
        if not add:
            return False
        attendee = icalendar.vCalAddress(f"mailto:{email}")
        if name:
            attendee.params["CN"] = name.replace("\\", "/")
        attendee.params["PARTSTAT"] = answer.value
        event.add("ATTENDEE", attendee)
        return True
    params = attendee.params
    if str(params.get("PARTSTAT", "")).upper() == answer.value and "RSVP" not in params:
        return False
    params["PARTSTAT"] = answer.value
    for stale in ("RSVP", "X-EASGW-STATUS"):  # X-EASGW-STATUS=0 marks "no answer yet"
        params.pop(stale, None)
    return True


def _replace(event: icalendar.Event, name: str, value: str) -> bool:
    if fields.text_of(event, name) == value and len(fields.values_of(event, name)) == 1:
        return False
    fields.remove(event, name)
    event.add(name, value)
    return True


def _busy_for(event: icalendar.Event, answer: Answer) -> str:
    if answer is Answer.TENTATIVE:
        return "TENTATIVE"
    intended = (fields.text_of(event, _INTENDED_PROPERTY) or "").upper()
    if intended in {"FREE", "BUSY", "OOF", "WORKINGELSEWHERE"}:
        return intended
    return "FREE" if (fields.text_of(event, "TRANSP") or "").upper() == "TRANSPARENT" else "BUSY"


def _record_on_master(master: icalendar.Event, answer: Answer, now: datetime) -> bool:
    """What the phone shows of the answer (module docstring)."""
    cancelled = (fields.text_of(master, "STATUS") or "").upper() == "CANCELLED"
    changed = _replace(master, _RESPONSE_TYPE_PROPERTY, _RESPONSE_TYPE[answer])
    changed = _replace(master, _MEETING_STATUS_PROPERTY, "7" if cancelled else "3") or changed
    changed = _replace(master, _BUSY_PROPERTY, _busy_for(master, answer)) or changed
    if changed:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        _replace(master, _REPLY_TIME_PROPERTY, stamp)
    return changed


def _split(calendar: icalendar.Calendar) -> tuple[icalendar.Event, list[icalendar.Event]]:
    events = [c for c in calendar.subcomponents if isinstance(c, icalendar.Event)]
    master = next((e for e in events if "RECURRENCE-ID" not in e), None)
    if master is None or "DTSTART" not in master:
        raise ReplyError(ReplyProblem.NOT_A_MEETING)
    return master, [e for e in events if e is not master and "RECURRENCE-ID" in e]


def _check_meeting(master: icalendar.Event, email: str) -> None:
    organizer = master.get("ORGANIZER")
    if organizer is not None and _address(organizer) == email:
        raise ReplyError(ReplyProblem.ORGANIZER)
    if organizer is None and _user_attendee(master, email) is None:
        raise ReplyError(ReplyProblem.NOT_A_MEETING)


def apply_reply(
    ical: str,
    *,
    email: str,
    name: str = "",
    answer: Answer,
    instance: datetime | None,
    now: datetime,
) -> Reply:
    """The stored event ``ical`` after ``email``'s ``answer`` (module docstring).

    Raises :class:`ReplyError`; ValueError when the text is no iCalendar object.
    """
    calendar = parse_calendar_text(ical)
    if not isinstance(calendar, icalendar.Calendar):
        raise ValueError("not a VCALENDAR")
    email = email.strip().lower()
    master, overrides = _split(calendar)
    _check_meeting(master, email)
    if instance is None:
        if answer is Answer.DECLINED:
            return Reply(remove=True)
        changed = _set_partstat(master, email, answer, name, add=True)
        for override in overrides:
            changed = _set_partstat(override, email, answer, name, add=False) or changed
        changed = _record_on_master(master, answer, now) or changed
    else:
        changed = _reply_to_instance(
            calendar, master, overrides, email=email, name=name, answer=answer, instance=instance
        )
    if not changed:
        return Reply()
    fields.remove(master, "LAST-MODIFIED")
    master.add("LAST-MODIFIED", now.astimezone(UTC).replace(microsecond=0))
    text: bytes = calendar.to_ical()
    return Reply(ical=text.decode("utf-8"))


# --- one occurrence ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Series:
    start: date | datetime
    zone: str
    all_day: bool

    def original(self, instance: datetime) -> datetime:
        """The occurrence's original start (aware UTC) for an InstanceId."""
        if not self.all_day:
            return instance.astimezone(UTC)
        return datetime.combine(self._day(instance), time(), ZoneInfo(self.zone)).astimezone(UTC)

    def _day(self, instance: datetime) -> date:
        # A 16.x all-day InstanceId is the date at UTC midnight; <= 14.1 sends the
        # local midnight as UTC: the nearest local midnight covers both.
        local = instance.astimezone(ZoneInfo(self.zone)).replace(tzinfo=None)
        if instance.astimezone(UTC).time() == time():
            return instance.astimezone(UTC).date()
        return (local + timedelta(hours=12)).date()

    def same(self, value: date | datetime, original: datetime) -> bool:
        return _utc(value, self.zone) == original


def _utc(value: date | datetime, zone: str) -> datetime:
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(zone))
        return aware.astimezone(UTC)
    return datetime.combine(value, time(), ZoneInfo(zone)).astimezone(UTC)


def _dates(event: icalendar.Event, name: str) -> list[date | datetime]:
    return [item.dt for entry in fields.values_of(event, name) for item in entry.dts]


def _wall_clock(value: date | datetime, zone: str) -> datetime:
    """``value`` as a naive local time in ``zone`` (a date: its midnight)."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time())
    if value.tzinfo is None:
        return value
    return value.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def _rule_text(rule: Any, zone: str) -> str:
    """The RRULE with UNTIL in local wall-clock time, like DTSTART (dateutil
    refuses a naive DTSTART with a UTC UNTIL; a DATE UNTIL covers its day)."""
    local: Any = icalendar.vRecur(rule)
    until = local.get("UNTIL")
    if until:
        value = until[0]
        last = value if isinstance(value, datetime) else datetime.combine(value, time.max)
        local["UNTIL"] = [_wall_clock(last, zone).replace(microsecond=0)]
    text: bytes = local.to_ical()
    return text.decode()


def _is_occurrence(master: icalendar.Event, series: _Series, original: datetime) -> bool:
    """Does the series (RRULE, RDATE) have an occurrence starting at ``original``?

    The rule is expanded in the event's local wall-clock time (RFC 5545 3.3.10:
    a rule keeps the local time across DST changes)."""
    if any(series.same(value, original) for value in _dates(master, "RDATE")):
        return True
    rules = fields.values_of(master, "RRULE")
    if not rules:
        return False
    first = _wall_clock(series.start, series.zone)
    target = _wall_clock(original, series.zone)
    try:
        rule = rrulestr(_rule_text(rules[0], series.zone), dtstart=first)
        found = rule.between(target - timedelta(seconds=1), target + timedelta(seconds=1), inc=True)
    except (ValueError, TypeError, OverflowError):
        return target >= first  # a rule dateutil cannot read: lenient
    return bool(found)


def _series(master: icalendar.Event) -> _Series:
    if "RRULE" not in master and "RDATE" not in master:
        raise ReplyError(ReplyProblem.NOT_RECURRING)
    start = master.decoded("DTSTART")
    return _Series(
        start=start, zone=fields.zone_of(master, start), all_day=not isinstance(start, datetime)
    )


def _reply_to_instance(
    calendar: icalendar.Calendar,
    master: icalendar.Event,
    overrides: list[icalendar.Event],
    *,
    email: str,
    name: str,
    answer: Answer,
    instance: datetime,
) -> bool:
    series = _series(master)
    original = series.original(instance)
    excluded = any(series.same(value, original) for value in _dates(master, "EXDATE"))
    override = next(
        (o for o in overrides if series.same(o.decoded("RECURRENCE-ID"), original)), None
    )
    if override is None and not excluded and not _is_occurrence(master, series, original):
        raise _NOT_AN_INSTANCE
    if answer is Answer.DECLINED:
        if excluded and override is None:
            return False  # declined before: the occurrence is already gone
        if override is not None:
            calendar.subcomponents.remove(override)
        if not excluded:
            local = original.astimezone(ZoneInfo(series.zone))
            master.add("EXDATE", local.date() if series.all_day else local)
        return True
    if excluded:
        raise _NOT_AN_INSTANCE  # a deleted occurrence cannot be accepted
    if override is None:
        if not _set_partstat(copy_event(master), email, answer, name, add=True):
            return False  # the series already carries this answer: no override needed
        _, (override,) = exceptions_to_ical(
            master,
            [ExceptionData(original_start=original)],
            zone=series.zone,
            all_day=series.all_day,
            make_override=lambda _exception: icalendar.Event(),
        )
        calendar.add_component(override)
    changed = _set_partstat(override, email, answer, name, add=True)
    return _replace(override, _RESPONSE_TYPE_PROPERTY, _RESPONSE_TYPE[answer]) or changed
